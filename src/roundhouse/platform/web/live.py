"""GET /api/events: a page's one Server-Sent Events connection. It says "changed" for the
topics the page shows (the page then re-reads itself) and, on a running job's page, also
carries the job's log: what is stored, then each new piece, then "end".
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy.ext.asyncio import AsyncSession
from sse_starlette.sse import EventSourceResponse

from roundhouse.db.models import User
from roundhouse.platform.api.deps import (
    MaybeUserDep,
    ServicesDep,
    find_build,
    find_job,
    find_repository,
)
from roundhouse.platform.services import Services

router = APIRouter()
# Bursts are coalesced: a job start touches job, build and repository at once.
COALESCE_SECONDS = 0.05

Event = dict[str, str]


@router.get("/api/events")
async def events(
    svc: ServicesDep,
    user: MaybeUserDep,
    topic: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies defaults)
    log: int | None = None,
) -> EventSourceResponse:
    """Topics of repositories, builds and jobs the caller may not read are 404, like their
    pages; the lists' wildcards say only that something changed."""
    async with svc.ctx.sessions() as session:
        for name in topic:
            await check_topic(session, name, user)
        if log is not None:
            await find_job(session, log, user)
    return EventSourceResponse(_stream(svc, topic, log), ping=15)


async def check_topic(session: AsyncSession, topic: str, user: User | None) -> None:
    kind, _, key = topic.partition(":")
    if kind not in ("repo", "build", "job", "worker"):
        raise HTTPException(404, f"No topic {topic!r}.")
    if key == "*":
        # The repositories list re-reads only what its reader may see; the admin dashboard
        # follows every job, build and worker.
        if kind != "repo" and not (user is not None and user.is_admin):
            raise HTTPException(403, f"Only administrators may follow {topic!r}.")
    elif not key.isdigit() or kind == "worker":
        raise HTTPException(404, f"No topic {topic!r}.")
    elif kind == "repo":
        await find_repository(session, key, user)
    elif kind == "build":
        await find_build(session, int(key), user)
    else:
        await find_job(session, int(key), user)


async def _stream(svc: Services, topics: list[str], job_id: int | None) -> AsyncIterator[Event]:
    out: asyncio.Queue[Event] = asyncio.Queue()
    async with svc.ctx.bus.subscribe(*topics) as changes:
        tasks = [asyncio.create_task(_changes(changes, out))]
        if job_id is not None:
            tasks.append(asyncio.create_task(_log(svc, job_id, out)))
        try:
            while True:
                yield await out.get()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def _changes(changes: asyncio.Queue[str], out: asyncio.Queue[Event]) -> None:
    while True:
        changed = await changes.get()
        await asyncio.sleep(COALESCE_SECONDS)
        out.put_nowait({"event": "changed", "data": json.dumps({"topic": changed})})


async def _log(svc: Services, job_id: int, out: asyncio.Queue[Event]) -> None:
    async for piece in svc.logs.follow(job_id):
        out.put_nowait({"event": "log", "data": json.dumps({"content": piece})})
    out.put_nowait({"event": "end", "data": "{}"})
