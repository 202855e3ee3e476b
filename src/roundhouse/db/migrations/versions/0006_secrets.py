"""secrets: repository settings variables, users' administration and sync lease, tokens marked

A table of repository environment variables (values encrypted with the instance key); on
users, when they were suspended and the code-host sync's request, lease and outcome. The
forge token and webhook secret of repositories were plain text: each is marked `plain:` here
(a migration has no instance key) and encrypted by the platform's next start
(platform/rekey.py, seal_plain_values); the webhook secret's column becomes Text to hold it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:40:00
"""

import sqlalchemy as sa
from alembic import op

import roundhouse.db.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SECRET_COLUMNS = ("forge_token", "webhook_secret")
USER_TIMES = (
    "suspended_at",
    "sync_requested_at",
    "sync_started_at",
    "sync_lease_expires_at",
    "synced_at",
)


def upgrade() -> None:
    op.create_table(
        "env_vars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("branch", sa.String(length=250), nullable=True),
        sa.Column("created_at", roundhouse.db.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", roundhouse.db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["repository_id"], ["repositories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_env_vars_repository_id", "env_vars", ["repository_id"])
    # batch_alter_table: SQLite can only change columns by copying the table; PostgreSQL alters.
    with op.batch_alter_table("users", schema=None) as batch_op:
        for name in USER_TIMES:
            batch_op.add_column(sa.Column(name, roundhouse.db.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("sync_error", sa.Text(), nullable=True))
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.alter_column(
            "webhook_secret", existing_type=sa.String(length=200), type_=sa.Text()
        )
    repositories = sa.table("repositories", *(sa.column(name) for name in SECRET_COLUMNS))
    for name in SECRET_COLUMNS:
        column = repositories.c[name]
        op.execute(
            repositories.update()
            .where(column.is_not(None), column != "")
            .values({name: sa.literal("plain:") + column})
        )
        op.execute(repositories.update().where(column == "").values({name: None}))


def downgrade() -> None:
    repositories = sa.table("repositories", *(sa.column(name) for name in SECRET_COLUMNS))
    connection = op.get_bind()
    for name in SECRET_COLUMNS:
        column = repositories.c[name]
        sealed = connection.scalar(
            sa.select(sa.func.count())
            .select_from(repositories)
            .where(column.is_not(None), sa.not_(column.like("plain:%")))
        )
        if sealed:
            # Without the instance key a migration cannot give the old versions plain text.
            raise RuntimeError(
                f"{sealed} repositories have an encrypted {name}; clear it (PATCH"
                f" /api/repo/SLUG/settings with {name}: null) before downgrading below 0008."
            )
        op.execute(
            repositories.update()
            .where(column.like("plain:%"))
            .values({name: sa.func.substr(column, len("plain:") + 1)})
        )
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.alter_column(
            "webhook_secret", existing_type=sa.Text(), type_=sa.String(length=200)
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("sync_error")
        for name in reversed(USER_TIMES):
            batch_op.drop_column(name)
    op.drop_index("ix_env_vars_repository_id", table_name="env_vars")
    op.drop_table("env_vars")
