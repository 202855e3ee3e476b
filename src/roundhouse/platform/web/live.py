"""GET /api/events: a page's one Server-Sent Events connection. It says "changed" for the
topics the page shows (the page then re-reads itself) and, on a running job's page, also
carries the job's log: what is stored, then each new piece, then "end".
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query
from sse_starlette.sse import EventSourceResponse

from roundhouse.platform.api.deps import MaybeUserDep, ServicesDep, find_job
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
    if log is not None:
        async with svc.ctx.sessions() as session:
            await find_job(session, log, user)
    return EventSourceResponse(_stream(svc, topic, log), ping=15)


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
