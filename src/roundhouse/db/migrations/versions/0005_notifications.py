"""notifications and crons: delivery attempts, a build's notification targets, cron builds

The table of notification delivery attempts, the builds' `notifications` (from .travis.yml),
and the table of cron builds per repository and branch.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:45:00
"""

import sqlalchemy as sa
from alembic import op

import roundhouse.db.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("builds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notifications", sa.JSON(), nullable=True))
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("at", roundhouse.db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["build_id"], ["builds.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notification_deliveries_build_id", "notification_deliveries", ["build_id"])
    op.create_table(
        "crons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=250), nullable=False),
        sa.Column("interval", sa.String(length=10), nullable=False),
        sa.Column("dont_run_if_recent_build_exists", sa.Boolean(), nullable=False),
        sa.Column("created_at", roundhouse.db.models.UTCDateTime(), nullable=False),
        sa.Column("next_run_at", roundhouse.db.models.UTCDateTime(), nullable=False),
        sa.Column("last_run_at", roundhouse.db.models.UTCDateTime(), nullable=True),
        sa.Column("last_request_id", sa.Integer(), nullable=True),
        sa.Column("last_skip_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["repository_id"], ["repositories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repository_id", "branch"),
    )


def downgrade() -> None:
    op.drop_table("crons")
    op.drop_index("ix_notification_deliveries_build_id", table_name="notification_deliveries")
    op.drop_table("notification_deliveries")
    with op.batch_alter_table("builds", schema=None) as batch_op:
        batch_op.drop_column("notifications")
