"""The Settings tab (repository admins): the switches and limits, the forge and webhook, the
environment variables, cron jobs and caches, each with the form that changes it.

Read from the same functions as the API (settings_of, list_env_vars, list_crons,
list_caches); the forms post to web/settings_forms.py, which re-renders this page with the
errors next to the form and the values as typed when something is not valid.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from roundhouse.db.models import Repository
from roundhouse.platform.api import serialize
from roundhouse.platform.api.crons import list_crons
from roundhouse.platform.api.deps import CanAdmin, Granted, ServicesDep
from roundhouse.platform.api.env_vars import list_env_vars
from roundhouse.platform.api.repo_caches import list_caches
from roundhouse.platform.api.repo_settings import settings_of
from roundhouse.platform.forge import FORGES
from roundhouse.platform.web.rendering import render

router = APIRouter()


@router.get("/{owner}/{name}/settings", response_class=HTMLResponse)
async def settings_page(
    request: Request, owner: str, name: str, svc: ServicesDep, access: CanAdmin
) -> HTMLResponse:
    return await show_settings(request, svc, access)


async def show_settings(
    request: Request,
    svc: ServicesDep,
    access: Granted,
    *,
    form: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The page; after a refused form, `form` names it, `errors` says what is wrong with which
    field ("" for the form as a whole) and `values` are what was typed, shown again."""
    url = svc.ctx.settings.public_url
    async with svc.ctx.sessions() as session:
        # Read again: a form may have changed it since the access check loaded it.
        repo = await session.get(Repository, access.repository.id) or access.repository
        settings = settings_of(repo)
        data = serialize.repository(repo, url)
    response = render(
        request,
        "settings.html",
        access.user,
        repo=data,
        role=access.role,
        settings=settings,
        key=await svc.keys.public_key(data["id"]),
        env_vars=(await list_env_vars(svc, access))["env_vars"],
        crons=(await list_crons(svc, access))["crons"],
        caches=(await list_caches(svc, access))["caches"],
        hooks={forge: f"{url}/hooks/{forge}" for forge in sorted(FORGES)},
        forges=sorted(FORGES),
        instance_timeouts={
            "hard_timeout": f"{svc.ctx.settings.hard_timeout} s",
            "log_timeout": f"{svc.ctx.settings.log_timeout} s",
        },
        form=form,
        errors=errors or {},
        values=values or {},
    )
    response.status_code = status
    return response
