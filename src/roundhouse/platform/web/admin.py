"""The admin dashboard (/admin, instance administrators only): workers, queues (an unserved
queue in red with its fix), users with their sync state (their forms: web/admin_actions.py),
instance settings, backup status and `roundhouse doctor`'s results.

Workers, queues, users and the doctor's checks come from the same functions as /api/workers,
/api/queues, /api/users and /api/doctor.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from roundhouse.db.models import ApiToken, User
from roundhouse.ops.doctor import storage
from roundhouse.platform.api.admin import doctor
from roundhouse.platform.api.deps import InstanceAdmin, ServicesDep
from roundhouse.platform.api.system import list_queues, list_workers
from roundhouse.platform.api.user_admin import list_users
from roundhouse.platform.web.rendering import render

router = APIRouter()
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
    checks = await doctor_checks(request, svc, user)
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
        # The doctor's backup check, asked afresh (it reads one small file): a backup that
        # just finished shows at once, not when the cached checks expire.
        backup=storage.backup_age(svc.ctx.settings).as_dict(),
        topics=["job:*", "build:*", "worker:*"],
    )


async def doctor_checks(request: Request, svc: ServicesDep, user: User) -> list[dict[str, Any]]:
    """The doctor's checks ([{name, status, saw, fix}]) from the function behind GET
    /api/doctor. Kept for DOCTOR_FRESH_SECONDS: the live page re-reads itself on every
    heartbeat, and the checks take a while."""
    state = request.app.state
    cached: tuple[float, list[dict[str, Any]]] | None = getattr(state, "admin_doctor", None)
    if cached is not None and time.monotonic() - cached[0] < DOCTOR_FRESH_SECONDS:
        return cached[1]
    checks: list[dict[str, Any]] = (await doctor(svc, user))["checks"]
    state.admin_doctor = (time.monotonic(), checks)
    return checks
