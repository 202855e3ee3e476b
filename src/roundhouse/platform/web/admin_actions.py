"""The admin dashboard's forms (instance administrators, CSRF-checked, no JavaScript needed):
suspend or unsuspend a user and ask for a user's sync, through the same functions as
POST /api/users/{login}/suspend, /unsuspend and /sync; each redirects back with a flash message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from roundhouse.db.models import User
from roundhouse.platform.api import user_admin
from roundhouse.platform.api.deps import CsrfChecked, InstanceAdmin, ServicesDep
from roundhouse.platform.web import flash

router = APIRouter()
Csrf = Annotated[None, CsrfChecked]
BACK = "/admin#users"


# What each action calls (the users API's function) and says when done.
ACTIONS: dict[str, tuple[Callable[[str, ServicesDep, User], Awaitable[Any]], str]] = {
    "suspend": (
        user_admin.suspend,
        "Suspended {login}: their sessions and API tokens no longer work.",
    ),
    "unsuspend": (user_admin.unsuspend, "{login} may sign in again."),
    "sync": (
        user_admin.request_sync,
        "Syncing {login} with their code host in the background; the table shows how it went.",
    ),
}


@router.post("/admin/users/{login}/{action}")
async def user_action(
    request: Request,
    login: str,
    action: Literal["suspend", "unsuspend", "sync"],
    svc: ServicesDep,
    user: InstanceAdmin,
    _csrf: Csrf,
) -> Response:
    call, message = ACTIONS[action]
    # Refused: no such user, or suspending oneself.
    done = message.format(login=login)
    return await flash.redirect_after(request, BACK, lambda: call(login, svc, user), done)
