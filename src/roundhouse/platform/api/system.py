"""API routes about the installation: workers, queues, liveness, readiness and metrics.

/healthz answers while the process lives; /readyz only when the database (at the newest
migration) and the broker answer too; /metrics is Prometheus text (platform/metrics.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select

from roundhouse.db.models import Job, Worker
from roundhouse.db.session import current_revision, head_revision
from roundhouse.platform.api import serialize
from roundhouse.platform.api.deps import InstanceAdmin, ServicesDep, SignedIn
from roundhouse.platform.metrics import CONTENT_TYPE

router = APIRouter()
health_router = APIRouter()


@router.get("/workers")
async def list_workers(svc: ServicesDep, user: SignedIn) -> dict[str, Any]:
    alive = {w.name for w in await svc.workers.alive()}
    async with svc.ctx.sessions() as session:
        rows = list(await session.scalars(select(Worker).order_by(Worker.name)))
    return {
        "workers": [serialize.worker(w, w.name in alive) for w in rows],
        "alive_window": svc.workers.alive_for.total_seconds(),
    }


@router.post("/workers/{name}/drain", status_code=202)
async def drain_worker(name: str, svc: ServicesDep, user: InstanceAdmin) -> dict[str, Any]:
    """Ask a worker to take no new jobs and stop once its running jobs are done."""
    if not await svc.workers.drain(name):
        raise HTTPException(404, f"No worker named {name} has ever sent a heartbeat.")
    return {"draining": name}


@router.get("/queues")
async def list_queues(svc: ServicesDep, user: SignedIn) -> dict[str, Any]:
    """Each queue: messages waiting in the broker and its consumers, the jobs queued for it,
    the live workers serving it, and why jobs routed to it wait (grouped by reason)."""
    alive = await svc.workers.alive()
    async with svc.ctx.sessions() as session:
        queued = dict(
            (
                await session.execute(
                    select(Job.queue, func.count()).where(Job.state == "queued").group_by(Job.queue)
                )
            ).all()
        )
        reasons = (
            await session.execute(
                select(Job.queue, Job.waiting_reason, func.count())
                .where(Job.state.in_(("created", "queued")), Job.waiting_reason.is_not(None))
                .group_by(Job.queue, Job.waiting_reason)
                .order_by(Job.queue, func.count().desc())
            )
        ).all()
    waiting: dict[str, list[dict[str, Any]]] = {}
    for queue, reason, count in reasons:
        waiting.setdefault(queue, []).append({"reason": reason, "jobs": count})
    names = sorted(
        set(queued)
        | set(waiting)
        | {q for w in alive for q in w.queues}
        | {svc.ctx.settings.default_queue}
    )
    queues = []
    for name in names:
        info = await svc.ctx.broker.queue_info(name)
        queues.append(
            {
                "name": name,
                "depth": info.depth,
                "consumers": info.consumers,
                "queued_jobs": queued.get(name, 0),
                "workers": [w.name for w in alive if name in w.queues and not w.problem],
                "waiting": waiting.get(name, []),
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
