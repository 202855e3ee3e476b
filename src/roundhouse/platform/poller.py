"""The poller: `git ls-remote` per repository every poll_interval seconds; a moved branch
head requests a build. The first poll of a repository only records its heads.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from roundhouse.db.models import Repository, utcnow
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.git import GitError, ls_remote_heads
from roundhouse.platform.periodic import Periodic
from roundhouse.platform.triggers import Triggers


class Poller:
    def __init__(self, ctx: PlatformContext, triggers: Triggers) -> None:
        self.ctx = ctx
        self.triggers = triggers
        self._loop = Periodic("poll round", self.poll_all, lambda: ctx.settings.poll_interval)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def poll_all(self) -> None:
        async with self.ctx.sessions() as session:
            ids = list(
                await session.scalars(
                    select(Repository.id).where(
                        Repository.poll.is_(True), Repository.active.is_(True)
                    )
                )
            )
        await asyncio.gather(*(self.poll(repository_id) for repository_id in ids))

    async def poll(self, repository_id: int) -> list[int]:
        """Poll one repository; returns the ids of the requests it made."""
        async with self.ctx.sessions() as session:
            repository = await session.get(Repository, repository_id)
            if repository is None:
                return []
            url, known, first = (
                repository.url,
                dict(repository.branch_heads),
                repository.last_polled_at is None,
            )
        try:
            heads = await ls_remote_heads(url)
            error = None
        except GitError as failure:
            heads, error = known, str(failure)
        moved = [] if first else [b for b, sha in heads.items() if known.get(b) != sha]
        async with self.ctx.sessions() as session, session.begin():
            repository = await session.get(Repository, repository_id)
            if repository is None:
                return []
            repository.branch_heads, repository.last_polled_at = heads, utcnow()
            repository.poll_error = error
        return [
            await self.triggers.request_build(
                repository_id, event_type="push", branch=branch, sha=heads[branch]
            )
            for branch in sorted(moved)
        ]
