"""Auto-cancel: a new build of a branch or a pull request cancels the older builds of the
same branch or pull request that are still waiting or running, when the repository's
settings ask for it (auto_cancel_pushes, auto_cancel_pull_requests).

As on Travis, API and cron builds are never canceled this way, and neither are tag builds.
"""

from __future__ import annotations

from sqlalchemy import select

from roundhouse.db.models import Build
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.hub import Hub
from roundhouse.protocol import FINISHED_STATES


async def cancel_superseded(ctx: PlatformContext, hub: Hub, build_id: int) -> list[int]:
    """Cancel the builds that build_id supersedes; returns their ids."""
    async with ctx.sessions() as session:
        build = await session.get(Build, build_id)
        if build is None:
            return []
        repository = build.repository
        query = select(Build.id).where(
            Build.repository_id == build.repository_id,
            Build.id < build.id,
            Build.event_type == build.event_type,
            Build.state.not_in(FINISHED_STATES),
        )
        if build.event_type == "push" and repository.auto_cancel_pushes and not build.tag:
            query = query.where(Build.branch == build.branch, Build.tag.is_(None))
            place = f"branch {build.branch}"
        elif build.event_type == "pull_request" and repository.auto_cancel_pull_requests:
            query = query.where(Build.pull_request_number == build.pull_request_number)
            place = f"pull request #{build.pull_request_number}"
        else:
            return []
        older = list(await session.scalars(query))
        number = build.number
    # The hub's own cancel path: workers are told to stop, states and statuses follow.
    canceled = [old for old in older if await hub.cancel_build(old)]
    if canceled:
        note = {
            "level": "info",
            "key": "auto_cancel",
            "code": "auto_canceled",
            "text": f"Canceled automatically: build #{number} is newer on {place}.",
            "line": None,
        }
        async with ctx.sessions() as session, session.begin():
            for old in await session.scalars(select(Build).where(Build.id.in_(canceled))):
                old.messages = [*old.messages, note]  # a new list: JSON columns track assignment
        ctx.bus.publish(*(f"build:{old}" for old in canceled))
    return canceled
