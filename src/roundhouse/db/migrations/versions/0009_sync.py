"""sync: the code-host sync of users' repositories and permissions

Identities keep the OAuth access and refresh tokens (encrypted with the instance key);
users, when their last sync ended; permissions, whether a sync made them; forge_repositories,
what each user's last sync found on the forge (the repositories they may activate).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 22:10:00
"""

import sqlalchemy as sa
from alembic import op

import roundhouse.db.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("access_token", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("refresh_token", sa.Text(), nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sync_finished_at", roundhouse.db.models.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("permissions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("synced", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "forge_repositories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("forge", sa.String(length=20), nullable=False),
        sa.Column("api_url", sa.Text(), nullable=False),
        sa.Column("forge_id", sa.String(length=100), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("clone_url", sa.Text(), nullable=False),
        sa.Column("web_url", sa.Text(), nullable=False),
        sa.Column("default_branch", sa.String(length=200), nullable=True),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("synced_at", roundhouse.db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "forge", "slug"),
    )
    op.create_index("ix_forge_repositories_slug", "forge_repositories", ["slug"])


def downgrade() -> None:
    op.drop_index("ix_forge_repositories_slug", table_name="forge_repositories")
    op.drop_table("forge_repositories")
    with op.batch_alter_table("permissions", schema=None) as batch_op:
        batch_op.drop_column("synced")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("sync_finished_at")
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_column("refresh_token")
        batch_op.drop_column("access_token")
