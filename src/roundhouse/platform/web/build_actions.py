"""Cancel and restart without JavaScript: the build and job pages' buttons sit in forms that
post here (push access, CSRF-checked); with JavaScript the same buttons call the API directly.

Each route calls the API's function (api/builds.py) and sends the browser back to the page it
came from with a flash message, or the reason it was refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from roundhouse.platform.api import builds
from roundhouse.platform.api.deps import CanPush, CsrfChecked, Granted, ServicesDep
from roundhouse.platform.web import flash
from roundhouse.platform.web.errors import back_path

router = APIRouter()
Csrf = Annotated[None, CsrfChecked]
Action = Literal["cancel", "restart"]
DONE = {"cancel": "Canceled {what}.", "restart": "Restarted {what}."}


CALLS: dict[tuple[str, str], Callable[[int, ServicesDep, Granted], Awaitable[Any]]] = {
    ("builds", "cancel"): builds.cancel_build,
    ("builds", "restart"): builds.restart_build,
    ("jobs", "cancel"): builds.cancel_job,
    ("jobs", "restart"): builds.restart_job,
}


async def _act(
    request: Request, svc: ServicesDep, access: Granted, kind: str, action: str
) -> Response:
    """Calls the API's function for the build or job of the path; back to the page the button
    was on, else that build's or job's page."""
    shown = access.job if kind == "jobs" else access.build
    assert shown is not None  # the path names it
    default = f"/{access.repository.slug}/{kind}/{shown.id}"
    back = back_path(request) if request.headers.get("referer") else default
    what = f"{kind[:-1]} #{shown.number}"
    call = CALLS[kind, action]
    return await flash.redirect_after(
        request, back, lambda: call(shown.id, svc, access), DONE[action].format(what=what)
    )


@router.post("/{owner}/{name}/builds/{build_id}/{action}")
async def build_action(
    request: Request,
    owner: str,
    name: str,
    build_id: int,
    action: Action,
    svc: ServicesDep,
    access: CanPush,
    _csrf: Csrf,
) -> Response:
    return await _act(request, svc, access, "builds", action)


@router.post("/{owner}/{name}/jobs/{job_id}/{action}")
async def job_action(
    request: Request,
    owner: str,
    name: str,
    job_id: int,
    action: Action,
    svc: ServicesDep,
    access: CanPush,
    _csrf: Csrf,
) -> Response:
    return await _act(request, svc, access, "jobs", action)
