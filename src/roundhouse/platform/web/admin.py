"""The admin dashboard (/admin, instance administrators only): workers, queues (an unserved
queue in red with its fix), users, instance settings, and `roundhouse doctor`'s results.

Workers and queues come from the same functions as /api/workers and /api/queues. The doctor's
results come from GET /api/doctor when this platform has it (asked in-process, as the viewer).
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from roundhouse.db.models import ApiToken, User
from roundhouse.platform.api.deps import MaybeUserDep, ServicesDep, token_of
from roundhouse.platform.api.system import list_queues, list_workers
from roundhouse.platform.web.rendering import render

router = APIRouter()
DOCTOR_PATH = "/api/doctor"
DOCTOR_TIMEOUT_SECONDS = 30.0
DOCTOR_FRESH_SECONDS = 60.0
# The instance settings an operator asks about first.
SHOWN_SETTINGS = ("public_url", "default_queue", "default_dist", "hard_timeout", "log_timeout")


@router.get("/admin", response_class=HTMLResponse)
async def admin_page(request: Request, svc: ServicesDep, user: MaybeUserDep) -> HTMLResponse:
    if user is None or not user.is_admin:
        response = render(request, "admin.html", user, allowed=False)
        response.status_code = 401 if user is None else 403
        return response
    workers = await list_workers(svc, user)
    queues = (await list_queues(svc, user))["queues"]
    for queue in queues:
        queue["unserved"] = (queue["depth"] or queue["queued_jobs"]) and not queue["consumers"]
    async with svc.ctx.sessions() as session:
        tokens = dict(
            (
                await session.execute(select(ApiToken.user_id, func.count()).group_by("user_id"))
            ).all()
        )
        users = [
            {
                "login": u.login,
                "name": u.name,
                "admin": u.is_admin,
                "suspended": u.suspended,
                "tokens": tokens.get(u.id, 0),
            }
            for u in await session.scalars(select(User).order_by(User.login))
        ]
    settings = {name: getattr(svc.ctx.settings, name) for name in SHOWN_SETTINGS}
    checks = await doctor_checks(request)
    return render(
        request,
        "admin.html",
        user,
        allowed=True,
        workers=workers["workers"],
        alive_window=workers["alive_window"],
        queues=queues,
        users=users,
        settings=settings,
        checks=checks,
        backup_checks=[c for c in checks or [] if "backup" in str(c.get("name", ""))],
        topics=["job:*", "build:*", "worker:*"],
    )


async def doctor_checks(request: Request) -> list[dict[str, Any]] | None:
    """The doctor's checks ([{name, status, saw, fix}]), or None when this platform has no
    doctor endpoint or it did not answer. Kept for DOCTOR_FRESH_SECONDS: the live page
    re-reads itself on every heartbeat, and the checks take a while."""
    if not any(getattr(route, "path", None) == DOCTOR_PATH for route in request.app.routes):
        return None
    state = request.app.state
    cached: tuple[float, list[dict[str, Any]]] | None = getattr(state, "admin_doctor", None)
    if cached is not None and time.monotonic() - cached[0] < DOCTOR_FRESH_SECONDS:
        return cached[1]
    checks = await _ask_doctor(request)
    if checks is not None:
        state.admin_doctor = (time.monotonic(), checks)
    return checks


async def _ask_doctor(request: Request) -> list[dict[str, Any]] | None:
    headers = {"authorization": f"token {token_of(request)}"}
    transport = httpx.ASGITransport(app=request.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://platform") as client:
            answer = await client.get(DOCTOR_PATH, headers=headers, timeout=DOCTOR_TIMEOUT_SECONDS)
        checks = answer.json().get("checks") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    return checks if isinstance(checks, list) else None
