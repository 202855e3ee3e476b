"""The admin dashboard (/admin, instance administrators only): workers, queues (an unserved
queue in red with its fix), users with their sync state (their forms: web/admin_actions.py),
instance settings, backup status and `roundhouse doctor`'s results.

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

from roundhouse.db.models import ApiToken
from roundhouse.ops.doctor import storage
from roundhouse.platform.api.deps import InstanceAdmin, ServicesDep, token_of
from roundhouse.platform.api.system import list_queues, list_workers
from roundhouse.platform.api.user_admin import list_users
from roundhouse.platform.web.rendering import render

router = APIRouter()
DOCTOR_PATH = "/api/doctor"
DOCTOR_TIMEOUT_SECONDS = 30.0
DOCTOR_FRESH_SECONDS = 60.0
# The instance settings an operator asks about first.
SHOWN_SETTINGS = ("public_url", "default_queue", "default_dist", "hard_timeout", "log_timeout")


@router.get("/admin", response_class=HTMLResponse)
async def admin_page(request: Request, svc: ServicesDep, user: InstanceAdmin) -> HTMLResponse:
    workers = await list_workers(svc, user)
    queues = (await list_queues(svc, user))["queues"]
    for queue in queues:
        queue["unserved"] = (queue["depth"] or queue["queued_jobs"]) and not queue["consumers"]
    users = (await list_users(svc, user))["users"]
    async with svc.ctx.sessions() as session:
        tokens = dict(
            (
                await session.execute(select(ApiToken.user_id, func.count()).group_by("user_id"))
            ).all()
        )
    for shown in users:
        shown["tokens"] = tokens.get(shown["id"], 0)
    settings = {name: getattr(svc.ctx.settings, name) for name in SHOWN_SETTINGS}
    checks = await doctor_checks(request)
    # The doctor's own backup check: from its results when it ran, else asked alone (it only
    # reads data_dir/last-backup.json).
    backups = [c for c in checks or [] if "backup" in str(c.get("name", ""))]
    return render(
        request,
        "admin.html",
        user,
        workers=workers["workers"],
        alive_window=workers["alive_window"],
        queues=queues,
        users=users,
        settings=settings,
        checks=checks,
        backup_checks=backups or [storage.backup_age(svc.ctx.settings).as_dict()],
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
    # Asked as the viewer: with their API token, or their session cookie (a GET needs no CSRF).
    token = token_of(request)
    headers = {"authorization": f"token {token}"} if token else {}
    if request.headers.get("cookie"):
        headers["cookie"] = request.headers["cookie"]
    transport = httpx.ASGITransport(app=request.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://platform") as client:
            answer = await client.get(DOCTOR_PATH, headers=headers, timeout=DOCTOR_TIMEOUT_SECONDS)
        checks = answer.json().get("checks") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    return checks if isinstance(checks, list) else None
