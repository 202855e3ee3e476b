"""A background loop that does one round of work every few seconds until stopped (the
poller, the reconciler, the cron scheduler).

A failing round is logged and the next one comes as usual: one bad repository or a database
hiccup must not end the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


class Periodic:
    def __init__(
        self,
        what: str,
        work: Callable[[], Awaitable[Any]],
        interval: Callable[[], float],
        *,
        at_once: bool = True,
    ) -> None:
        """`what` names a round in the log; interval is read before each pause (settings);
        at_once: the first round runs on start, else after the first pause."""
        self.what = what
        self.work = work
        self.interval = interval
        self.at_once = at_once
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        if not self.at_once:
            await asyncio.sleep(self.interval())
        while True:
            try:
                await self.work()
            except Exception:
                log.exception("%s failed; trying again in %s s", self.what, self.interval())
            await asyncio.sleep(self.interval())
