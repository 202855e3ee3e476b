"""Alembic environment: runs migrations on the URL that db.session.migrate() passes in."""

from alembic import context
from sqlalchemy import engine_from_config, pool, text

from roundhouse.db.models import Base

config = context.config


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Platform processes starting together: one migrates, the others then find
                # the schema current (the lock is held until this transaction ends).
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext('roundhouse:migrate'))")
                )
            context.run_migrations()


run_migrations_online()
