"""repository keys: RSA key pairs for secure values, and secure values for forks

A table of repository key pairs (the private half encrypted with the instance key), and the
repository setting `secure_env_for_forks`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 18:50:00
"""

import sqlalchemy as sa
from alembic import op

import roundhouse.db.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repository_keys",
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=100), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("created_at", roundhouse.db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["repository_id"], ["repositories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("repository_id"),
    )
    # batch_alter_table: SQLite can only add columns by copying the table; PostgreSQL alters.
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "secure_env_for_forks", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.drop_column("secure_env_for_forks")
    op.drop_table("repository_keys")
