"""Background work kept in order per build: a build's commit statuses, or its notifications,
go out in the order its states changed, while different builds' run side by side.

Each piece of work waits for the previous one of its build to end (whatever its outcome);
failures are logged, never raised into the caller, which never waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


class Chains:
    def __init__(self) -> None:
        # The last task of each build: the next one waits for it.
        self._last: dict[int, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def add(self, build_id: int, work: Callable[[], Awaitable[Any]], what: str) -> None:
        """Run work after the build's earlier work; `what` names it in the log if it fails."""
        previous = self._last.get(build_id)
        task = asyncio.get_running_loop().create_task(self._after(previous, work, what))
        self._last[build_id] = task
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._forget(build_id, done))

    def _forget(self, build_id: int, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._last.get(build_id) is task:
            del self._last[build_id]

    @staticmethod
    async def _after(
        previous: asyncio.Task[None] | None, work: Callable[[], Awaitable[Any]], what: str
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # its outcome is its own; only the order matters
        try:
            await work()
        except Exception:
            log.exception("%s failed", what)

    async def drain(self) -> None:
        """Wait until no work is left (tests; work may be added meanwhile)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def cancel(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
