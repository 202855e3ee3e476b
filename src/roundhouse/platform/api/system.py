"""API routes about the installation: workers, queues, liveness, readiness and metrics.

/healthz answers while the process lives; /readyz only when the database (at the newest
migration) and the broker answer too; /metrics is Prometheus text (platform/metrics.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select

from roundhouse.db.models import Job, Worker
from roundhouse.db.session import current_revision, head_revision
from roundhouse.platform.api import serialize
from roundhouse.platform.api.deps import ServicesDep, UserDep
from roundhouse.platform.metrics import CONTENT_TYPE
from roundhouse.platform.workers import ALIVE_FOR

router = APIRouter()
health_router = APIRouter()


@router.get("/workers")
async def list_workers(svc: ServicesDep, user: UserDep) -> dict[str, Any]:
    alive = {w.name for w in await svc.workers.alive()}
    async with svc.ctx.sessions() as session:
        rows = list(await session.scalars(select(Worker).order_by(Worker.name)))
    return {
        "workers": [serialize.worker(w, w.name in alive) for w in rows],
        "alive_window": ALIVE_FOR.seconds,
    }


@router.get("/queues")
async def list_queues(svc: ServicesDep, user: UserDep) -> dict[str, Any]:
    alive = await svc.workers.alive()
    async with svc.ctx.sessions() as session:
        waiting = dict(
            (
                await session.execute(
                    select(Job.queue, func.count()).where(Job.state == "queued").group_by(Job.queue)
                )
            ).all()
        )
    names = sorted(
        set(waiting) | {q for w in alive for q in w.queues} | {svc.ctx.settings.default_queue}
    )
    queues = []
    for name in names:
        info = await svc.ctx.broker.queue_info(name)
        served_by = [w.name for w in alive if name in w.queues]
        queues.append(
            {
                "name": name,
                "depth": info.depth,
                "consumers": info.consumers,
                "queued_jobs": waiting.get(name, 0),
                "workers": served_by,
            }
        )
    return {"queues": queues}


@health_router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@health_router.get("/readyz", response_model=None)
async def readyz(svc: ServicesDep) -> dict[str, str] | JSONResponse:
    """Ready when the database answers at the newest migration and the broker answers."""
    try:
        async with svc.ctx.sessions() as session:
            revision = await session.run_sync(lambda s: current_revision(s.connection()))
    except Exception as error:
        return _unready(f"the database does not answer: {error}")
    if revision != head_revision():
        return _unready(
            f"the database is at migration {revision}, this version needs {head_revision()}: "
            "restart the platform to migrate it"
        )
    try:
        await asyncio.wait_for(svc.ctx.broker.queue_info(svc.ctx.settings.default_queue), 5)
    except Exception as error:
        return _unready(f"the broker does not answer: {error or type(error).__name__}")
    return {"status": "ready"}


def _unready(reason: str) -> JSONResponse:
    return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)


@health_router.get("/metrics")
async def metrics(svc: ServicesDep) -> Response:
    body = await svc.metrics.scrape(svc.ctx, await svc.workers.alive())
    return Response(body, media_type=CONTENT_TYPE)
