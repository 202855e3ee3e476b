"""API routes about the installation: workers, queues, liveness and readiness.

/healthz answers while the process lives; /readyz only when the database answers too.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import func, select, text

from roundhouse.db.models import Job, Worker
from roundhouse.platform.api import serialize
from roundhouse.platform.api.deps import ServicesDep, UserDep

router = APIRouter()
health_router = APIRouter()


@router.get("/workers")
async def list_workers(svc: ServicesDep, user: UserDep) -> dict[str, Any]:
    alive = {w.name for w in await svc.workers.alive()}
    async with svc.ctx.sessions() as session:
        rows = list(await session.scalars(select(Worker).order_by(Worker.name)))
    return {
        "workers": [serialize.worker(w, w.name in alive) for w in rows],
        "alive_window": svc.workers.alive_for.total_seconds(),
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
    try:
        async with svc.ctx.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception as error:
        return JSONResponse(
            {"status": "unavailable", "reason": f"database: {error}"}, status_code=503
        )
    return {"status": "ready"}
