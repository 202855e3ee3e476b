"""Every way a build is asked for (API, CLI, poller, webhooks) ends here: store the Request,
then let the gatekeeper process it in the background so the caller answers at once.

A webhook's delivery id is stored in the same transaction as its request, so a delivery the
forge sends again is recognised even when both copies arrive at the same moment.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from roundhouse.db.models import Request, WebhookDelivery
from roundhouse.platform.autocancel import cancel_superseded
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.forge.common import PullRequest
from roundhouse.platform.gatekeeper import Gatekeeper
from roundhouse.platform.hub import Hub

log = logging.getLogger(__name__)


class DuplicateDelivery(Exception):
    """The forge delivered this webhook before, and it was accepted then."""


class Triggers:
    def __init__(self, ctx: PlatformContext, gatekeeper: Gatekeeper, hub: Hub) -> None:
        self.ctx = ctx
        self.gatekeeper = gatekeeper
        self.hub = hub
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
        sender: str | None = None,
        pull_request: PullRequest | None = None,
        delivery: tuple[str, str] | None = None,
    ) -> int:
        """Store a request and start processing it; delivery is (forge, delivery id)."""
        if delivery and await self._seen(delivery):
            raise DuplicateDelivery(delivery[1])
        try:
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
                    sender=sender,
                )
                if pull_request is not None:
                    request.pull_request_number = pull_request.number
                    request.pull_request_title = pull_request.title
                    request.head_branch = pull_request.head_branch
                    request.head_sha = pull_request.head_sha
                    request.head_slug = pull_request.head_slug
                    request.fork = pull_request.fork
                    request.ref = pull_request.ref
                session.add(request)
                await session.flush()
                if delivery:
                    session.add(
                        WebhookDelivery(
                            forge=delivery[0],
                            delivery_id=delivery[1],
                            repository_id=repository_id,
                            request_id=request.id,
                        )
                    )
                request_id = request.id
        except IntegrityError:
            # Two copies of one delivery at once: the unique key let only one of them in.
            if delivery and await self._seen(delivery):
                raise DuplicateDelivery(delivery[1]) from None
            raise
        task = asyncio.get_running_loop().create_task(self._process(request_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return request_id

    async def _seen(self, delivery: tuple[str, str]) -> bool:
        async with self.ctx.sessions() as session:
            found = await session.scalar(
                select(WebhookDelivery.id).where(
                    WebhookDelivery.forge == delivery[0],
                    WebhookDelivery.delivery_id == delivery[1],
                )
            )
        return found is not None

    async def _process(self, request_id: int) -> int | None:
        build_id = await self.gatekeeper.handle(request_id)
        if build_id is not None:
            try:
                await cancel_superseded(self.ctx, self.hub, build_id)
            except Exception:  # the new build stands; only the old ones keep running
                log.exception("auto-cancel after build %s failed", build_id)
        return build_id

    async def drain(self) -> None:
        """Wait for requests being processed (used on shutdown and by tests)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
