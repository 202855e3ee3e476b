"""Locks that hold across platform processes (PostgreSQL advisory locks), and within one.

SQLite serves a single platform process, so there an asyncio lock is all it takes; PostgreSQL
may serve several, which take the advisory lock of the same name. Advisory locks belong to the
whole database: the key includes the schema, so installations (or test runs) in other schemas
of one database never hold each other's locks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from weakref import WeakValueDictionary

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

# The lock's key: the name within the installation's schema.
KEY = "hashtext(current_schema() || ':' || :name)"

_local: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()


def local_lock(name: str) -> asyncio.Lock:
    """The one asyncio lock of this process named name (kept while someone holds it)."""
    lock = _local.get(name)
    if lock is None:
        lock = _local[name] = asyncio.Lock()
    return lock


async def transaction_lock(session: AsyncSession, name: str) -> None:
    """Wait for the lock named name, held until session's transaction ends (PostgreSQL only;
    combine with local_lock for SQLite)."""
    if _is_postgres(session.bind):
        await session.execute(text(f"SELECT pg_advisory_xact_lock({KEY})"), {"name": name})


@asynccontextmanager
async def leader(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """Yields whether this process got the lock named name; held for the block, never waited
    for: another process holding it does the work this time."""
    async with local_lock(name):
        if not _is_postgres(engine):
            yield True
            return
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            got = bool(
                await autocommit.scalar(text(f"SELECT pg_try_advisory_lock({KEY})"), {"name": name})
            )
            try:
                yield got
            finally:
                if got:
                    await autocommit.execute(
                        text(f"SELECT pg_advisory_unlock({KEY})"), {"name": name}
                    )


def _is_postgres(bind: object) -> bool:
    dialect = getattr(bind, "dialect", None)
    return dialect is not None and dialect.name == "postgresql"
