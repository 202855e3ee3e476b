"""API routes for builds and jobs: read, cancel, restart, and the job's log.

Logs: JSON, raw text (also while running) and a Server-Sent Events stream.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sse_starlette.sse import EventSourceResponse

from roundhouse.db.models import Job, JobTransition
from roundhouse.platform.api import serialize
from roundhouse.platform.api.deps import CanPull, CanPush, ServicesDep
from roundhouse.platform.notify.delivery import summary

router = APIRouter()


@router.get("/build/{build_id}")
async def get_build(build_id: int, svc: ServicesDep, access: CanPull) -> dict[str, Any]:
    build = access.build
    assert build is not None  # the path names it
    async with svc.ctx.sessions() as session:
        jobs = list(
            await session.scalars(select(Job).where(Job.build_id == build_id).order_by(Job.id))
        )
        data = serialize.build(build, svc.ctx.settings.public_url, jobs)
        data["notifications"] = await summary(session, build_id)
        return data


@router.get("/build/{build_id}/jobs")
async def get_build_jobs(build_id: int, svc: ServicesDep, access: CanPull) -> dict[str, Any]:
    return {"jobs": (await get_build(build_id, svc, access))["jobs"]}


@router.post("/build/{build_id}/cancel", status_code=202)
async def cancel_build(build_id: int, svc: ServicesDep, access: CanPush) -> dict[str, Any]:
    return {"canceled_jobs": await svc.hub.cancel_build(build_id)}


@router.post("/build/{build_id}/restart", status_code=202)
async def restart_build(build_id: int, svc: ServicesDep, access: CanPush) -> dict[str, Any]:
    assert access.build is not None  # the path names it
    state = access.build.state
    restarted = await svc.hub.restart_build(build_id)
    if not restarted:
        raise HTTPException(
            409, f"Build {build_id} is {state}; only a finished build can be restarted."
        )
    return {"restarted_jobs": restarted}


@router.get("/job/{job_id}")
async def get_job(job_id: int, svc: ServicesDep, access: CanPull) -> dict[str, Any]:
    job = access.job
    assert job is not None  # the path names it
    async with svc.ctx.sessions() as session:
        history = list(
            await session.scalars(
                select(JobTransition)
                .where(JobTransition.job_id == job_id)
                .order_by(JobTransition.id)
            )
        )
        return serialize.job(job, svc.ctx.settings.public_url, history=history)


@router.post("/job/{job_id}/cancel", status_code=202)
async def cancel_job(job_id: int, svc: ServicesDep, access: CanPush) -> dict[str, Any]:
    assert access.job is not None  # the path names it
    state = access.job.state
    if not await svc.hub.cancel_job(job_id):
        raise HTTPException(409, f"Job {job_id} is {state}; it cannot be canceled.")
    return {"canceled": job_id}


@router.post("/job/{job_id}/restart", status_code=202)
async def restart_job(job_id: int, svc: ServicesDep, access: CanPush) -> dict[str, Any]:
    assert access.job is not None  # the path names it
    state = access.job.state
    if not await svc.hub.restart_job(job_id):
        raise HTTPException(409, f"Job {job_id} is {state}; only a finished job can be restarted.")
    return {"restarted": job_id}


async def _read_log(job_id: int, svc: ServicesDep) -> tuple[str, bool]:
    result = await svc.logs.read(job_id)
    if result is None:
        raise HTTPException(404, f"Job {job_id} not found.")
    return result


@router.get("/job/{job_id}/log")
async def get_log(job_id: int, svc: ServicesDep, access: CanPull) -> dict[str, Any]:
    content, complete = await _read_log(job_id, svc)
    return {"@type": "log", "job_id": job_id, "content": content, "complete": complete}


@router.get("/job/{job_id}/log.txt", response_class=StreamingResponse)
async def get_log_text(job_id: int, svc: ServicesDep, access: CanPull) -> StreamingResponse:
    """Streamed: a big log's first lines arrive before the rest has been read."""
    return StreamingResponse(svc.logs.pieces(job_id), media_type="text/plain; charset=utf-8")


@router.get("/job/{job_id}/log/stream")
async def stream_log(job_id: int, svc: ServicesDep, access: CanPull) -> EventSourceResponse:
    async def events() -> AsyncIterator[dict[str, str]]:
        async for piece in svc.logs.follow(job_id):
            yield {"event": "log", "data": json.dumps({"content": piece})}
        yield {"event": "end", "data": "{}"}

    return EventSourceResponse(events(), ping=15)
