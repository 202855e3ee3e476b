"""forges: webhooks, pull-request builds and commit statuses

Repository: the forge it lives on, its API address and token, and Travis's build and
auto-cancel settings. Request: who pushed and the pull-request data. Build: the pull-request
number and the last commit-status failure. A table of webhook delivery ids against replays.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import roundhouse.db.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch_alter_table: SQLite can only add columns by copying the table; PostgreSQL alters.
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("forge", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("forge_api_url", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("forge_token", sa.Text(), nullable=True))
        for name, default in (
            ("build_pushes", sa.true()),
            ("build_pull_requests", sa.true()),
            ("auto_cancel_pushes", sa.false()),
            ("auto_cancel_pull_requests", sa.false()),
        ):
            batch_op.add_column(
                sa.Column(name, sa.Boolean(), server_default=default, nullable=False)
            )

    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("pull_request_number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pull_request_title", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("head_branch", sa.String(length=250), nullable=True))
        batch_op.add_column(sa.Column("head_sha", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("head_slug", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("fork", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("ref", sa.String(length=250), nullable=True))

    with op.batch_alter_table("builds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pull_request_number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("status_error", sa.Text(), nullable=True))

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("forge", sa.String(length=20), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("received_at", roundhouse.db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["repository_id"], ["repositories.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("forge", "delivery_id"),
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("builds", schema=None) as batch_op:
        batch_op.drop_column("status_error")
        batch_op.drop_column("pull_request_number")
    with op.batch_alter_table("requests", schema=None) as batch_op:
        for name in (
            "ref",
            "fork",
            "head_slug",
            "head_sha",
            "head_branch",
            "pull_request_title",
            "pull_request_number",
            "sender",
        ):
            batch_op.drop_column(name)
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        for name in (
            "auto_cancel_pull_requests",
            "auto_cancel_pushes",
            "build_pull_requests",
            "build_pushes",
            "forge_token",
            "forge_api_url",
            "forge",
        ):
            batch_op.drop_column(name)
