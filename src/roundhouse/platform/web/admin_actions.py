"""The admin dashboard's forms (instance administrators, CSRF-checked, no JavaScript needed):
suspend or unsuspend a user and ask for a user's sync, through the same functions as
POST /api/users/{login}/suspend, /unsuspend and /sync; each redirects back with a flash message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from roundhouse.platform.api import user_admin
from roundhouse.platform.api.deps import CsrfChecked, InstanceAdmin, ServicesDep
from roundhouse.platform.web import flash

router = APIRouter()
Csrf = Annotated[None, CsrfChecked]
BACK = "/admin#users"


async def _done(
    request: Request, action: Callable[[], Awaitable[dict[str, Any]]], message: str
) -> Response:
    response = RedirectResponse(BACK, status_code=303)
    try:
        await action()
    except HTTPException as refused:  # no such user, or suspending oneself
        flash.leave(request, response, str(refused.detail), "error")
    else:
        flash.leave(request, response, message)
    return response


@router.post("/admin/users/{login}/suspend")
async def suspend(
    request: Request, login: str, svc: ServicesDep, user: InstanceAdmin, _csrf: Csrf
) -> Response:
    return await _done(
        request,
        lambda: user_admin.suspend(login, svc, user),
        f"Suspended {login}: their sessions and API tokens no longer work.",
    )


@router.post("/admin/users/{login}/unsuspend")
async def unsuspend(
    request: Request, login: str, svc: ServicesDep, user: InstanceAdmin, _csrf: Csrf
) -> Response:
    return await _done(
        request, lambda: user_admin.unsuspend(login, svc, user), f"{login} may sign in again."
    )


@router.post("/admin/users/{login}/sync")
async def request_sync(
    request: Request, login: str, svc: ServicesDep, user: InstanceAdmin, _csrf: Csrf
) -> Response:
    return await _done(
        request,
        lambda: user_admin.request_sync(login, svc, user),
        user_admin.NO_SYNC_YET.format(login=login),
    )
