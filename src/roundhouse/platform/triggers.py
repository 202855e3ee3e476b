"""Every way a build is asked for (API, CLI, poller, webhooks) ends here: store the Request,
then let the gatekeeper process it in the background so the caller answers at once.
"""

from __future__ import annotations

import asyncio
import logging

from roundhouse.db.models import Request
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.gatekeeper import Gatekeeper

log = logging.getLogger(__name__)


class Triggers:
    def __init__(self, ctx: PlatformContext, gatekeeper: Gatekeeper) -> None:
        self.ctx = ctx
        self.gatekeeper = gatekeeper
        self._tasks: set[asyncio.Task[int | None]] = set()

    async def request_build(
        self,
        repository_id: int,
        *,
        event_type: str,
        branch: str | None,
        sha: str | None = None,
        tag: str | None = None,
        message: str = "",
        config: str | None = None,
        merge_mode: str | None = None,
    ) -> int:
        async with self.ctx.sessions() as session, session.begin():
            request = Request(
                repository_id=repository_id,
                event_type=event_type,
                branch=branch,
                sha=sha,
                tag=tag,
                message=message,
                config_override=config,
                merge_mode=merge_mode,
            )
            session.add(request)
            await session.flush()
            request_id = request.id
        task = asyncio.get_running_loop().create_task(self.gatekeeper.handle(request_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return request_id

    async def drain(self) -> None:
        """Wait for requests being processed (used on shutdown and by tests)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
