"""aiosqlite's Connection.stop() made idempotent, for SQLite engines: without it an event
loop that shuts down while SQLAlchemy closes an invalidated connection can wait forever.

aiosqlite 0.22's close() ends by queuing a stop for its worker thread and waiting for it.
SQLAlchemy, terminating a connection it invalidated (a task cancelled mid-query), queues a
stop itself and closes the connection in a task of its own. When that task is cancelled too
(asyncio.run and pytest cancel every task at the end), its close() queues a second stop,
which the thread never reads — it ended at the first — and waits for it: the loop's shutdown
never finishes. Here a second stop() returns the first one's future instead.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiosqlite

_STOPPED = "_roundhouse_stop"  # the first stop()'s future (None when asked outside a loop)
_original_stop = getattr(aiosqlite.Connection, "stop", None)


def _stop_once(self: aiosqlite.Connection) -> asyncio.Future[Any] | None:
    if not hasattr(self, _STOPPED):
        assert _original_stop is not None
        setattr(self, _STOPPED, _original_stop(self))
    future: asyncio.Future[Any] | None = getattr(self, _STOPPED)
    return future


def apply() -> None:
    """Install the idempotent stop() (once; versions without stop() need nothing)."""
    if _original_stop is not None and aiosqlite.Connection.stop is not _stop_once:
        aiosqlite.Connection.stop = _stop_once  # type: ignore[method-assign]
