"""API routes for administrators and workers: the doctor's checks, the worker token, and the
workers' token check (`roundhouse doctor --worker` asks it)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from roundhouse.db.models import User
from roundhouse.ops.doctor.platform_side import run_platform_checks
from roundhouse.platform.api.deps import ServicesDep, require_user, token_of
from roundhouse.platform.routing import queue_name
from roundhouse.platform.workertoken import token_matches
from roundhouse.protocol import SERVED_PROTOCOLS, TOKEN_REJECTED

router = APIRouter()


async def require_admin(user: Annotated[User, Depends(require_user)]) -> User:
    if not user.is_admin:
        raise HTTPException(403, "Only an administrator may do this.")
    return user


AdminDep = Annotated[User, Depends(require_admin)]


@router.get("/doctor")
async def doctor(svc: ServicesDep, admin: AdminDep) -> dict[str, Any]:
    """Every platform check of `roundhouse doctor`, as the running platform sees them."""
    checks = await run_platform_checks(
        svc.ctx.settings, sessions=svc.ctx.sessions, broker=svc.ctx.broker
    )
    return {"checks": [check.as_dict() for check in checks]}


@router.get("/workers/token")
async def worker_token(svc: ServicesDep, admin: AdminDep) -> dict[str, str]:
    """The token every worker must have in its `token` setting."""
    return {"token": svc.workers.token}


@router.get("/workers/hello")
async def worker_hello(request: Request, svc: ServicesDep) -> dict[str, Any]:
    """For a worker's doctor: whether its token is accepted, the protocol versions served and
    the queues the platform routes jobs to."""
    if not token_matches(svc.workers.token, token_of(request)):
        raise HTTPException(401, TOKEN_REJECTED)
    settings = svc.ctx.settings
    routed = {settings.default_queue} | {queue_name(rule.queue) for rule in settings.queue_rules}
    return {
        "accepted": True,
        "protocols": sorted(SERVED_PROTOCOLS),
        "routed_queues": sorted(routed),
    }
