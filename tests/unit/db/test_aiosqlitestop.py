"""A SQLite connection whose close() is cancelled after it was stopped (what SQLAlchemy and a
shutting-down event loop do to an invalidated connection) finishes instead of waiting forever.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiosqlite
from sqlalchemy import text

from roundhouse.db.session import make_engine

# Long enough that the query is still running when its task is cancelled.
SLOW_QUERY = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) "
    "SELECT count(*) FROM c"
)


async def test_a_close_cancelled_after_a_stop_finishes(tmp_path: Path) -> None:
    make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")  # installs the fix, as every engine does
    connection = await aiosqlite.connect(":memory:")
    closing = asyncio.ensure_future(connection.close())
    await asyncio.sleep(0)  # the close is queued for the connection's thread
    connection.stop()  # as SQLAlchemy's terminate does

    closing.cancel()  # as the event loop's shutdown does

    done, _ = await asyncio.wait({closing}, timeout=10)
    assert closing in done, "close() still waits for a stop its thread will never read"


async def test_a_query_cancelled_at_shutdown_leaves_no_task_behind(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")

    async def query() -> None:
        async with engine.connect() as connection:
            await connection.execute(text(SLOW_QUERY))

    for _ in range(5):
        running = asyncio.ensure_future(query())
        await asyncio.sleep(0.02)
        running.cancel()
        await asyncio.sleep(0.01)
        # What asyncio.run does at the end: cancel every task and wait for them.
        others = asyncio.all_tasks() - {asyncio.current_task()}
        for task in others:
            task.cancel()
        if others:
            _, pending = await asyncio.wait(others, timeout=10)
            assert not pending, f"tasks that never end: {pending}"
    await engine.dispose()
