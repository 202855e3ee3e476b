"""topology: leases, publication, repository limits, worker problems

Job: when its lease was last renewed by a heartbeat and when its payload was confirmed by
the broker (the reconciler's clues). Repository: maximum_number_of_builds. Worker: the leases
of its latest heartbeat and why the platform cannot work with it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import roundhouse.db.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "maximum_number_of_builds",
                sa.Integer(),
                server_default=sa.text("0"),
                nullable=False,
            )
        )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        for name in ("lease_renewed_at", "published_at"):
            batch_op.add_column(sa.Column(name, roundhouse.db.models.UTCDateTime(), nullable=True))
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leases", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("problem", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_column("problem")
        batch_op.drop_column("leases")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("published_at")
        batch_op.drop_column("lease_renewed_at")
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.drop_column("maximum_number_of_builds")
