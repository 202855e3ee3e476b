"""repository timeouts: a repository's own hard and no-output time limits for its jobs

NULL keeps the instance's hard_timeout and log_timeout settings.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("repositories") as table:
        table.add_column(sa.Column("hard_timeout", sa.Integer(), nullable=True))
        table.add_column(sa.Column("log_timeout", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("repositories") as table:
        table.drop_column("log_timeout")
        table.drop_column("hard_timeout")
