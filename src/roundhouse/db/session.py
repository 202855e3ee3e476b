"""Engines and sessions for SQLite (WAL) and PostgreSQL, and migrations applied at start.

The async engine serves the platform; Alembic runs once, synchronously, before it starts.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from roundhouse.db import aiosqlitestop

SessionFactory = async_sessionmaker[AsyncSession]


def sync_url(url: str) -> str:
    """The URL Alembic and tools use: plain sqlite, psycopg (v3) for PostgreSQL."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def async_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


# Pages of 32 KiB instead of 4: a big log (parts, then the joined log) is written in an
# eighth of the pages, which costs a third of the CPU; a small update costs ~0.04 ms more.
# Only a new database takes it (an existing one keeps its page size).
SQLITE_PAGE_BYTES = 32 * 1024
# Checkpoint when the WAL reaches 8 MiB: the default of 1,000 pages would now be 32 MiB.
SQLITE_CHECKPOINT_PAGES = 256


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web pages read while the hub writes; NORMAL sync is safe with WAL.
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_BYTES}")  # before WAL, which fixes it
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> AsyncEngine:
    target = async_url(url)
    if target.startswith("sqlite"):
        aiosqlitestop.apply()
        engine = create_async_engine(target, connect_args={"timeout": 10})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # Connections beyond pool_size are closed when given back: the pool is sized for the
    # platform's usual concurrency (events, log batches, API requests) so they seldom are.
    return create_async_engine(target, pool_size=20, max_overflow=20, pool_pre_ping=True)


def make_sessions(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("roundhouse.db") / "migrations"))
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the schema to the newest revision; safe to run on every start."""
    parsed = make_url(sync_url(url))
    engine = create_engine(parsed, poolclass=NullPool)
    if parsed.drivername == "sqlite" and parsed.database:
        # Create the file with WAL on from the first write.
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        # Alembic's environment and scripts take a third of a second to load: a current
        # database (every start but the first after an upgrade) does without them.
        with engine.connect() as connection:
            if current_revision(connection) == head_revision():
                return
    except SQLAlchemyError:
        pass  # the upgrade says what is wrong, in its own words
    finally:
        engine.dispose()
    command.upgrade(alembic_config(url), "head")


@cache
def head_revision() -> str | None:
    """The newest migration this version of Roundhouse has."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The migration a database is at (None: none applied yet)."""
    return MigrationContext.configure(connection).get_current_revision()
