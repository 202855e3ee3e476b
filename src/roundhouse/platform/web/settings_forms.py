"""The Settings tab's forms, which work without JavaScript: each POSTs with its CSRF token,
calls the same function as the API route it mirrors, and redirects back with a flash message;
a value that is not valid re-renders the page with the error next to its field and nothing
that was typed lost.

    POST /{owner}/{name}/settings                       switches and jobs at once (PATCH …/settings)
    POST /{owner}/{name}/settings/forge                 forge, API URL, token, webhook secret
    POST /{owner}/{name}/settings/env_vars              add a variable (POST …/env_vars)
    POST /{owner}/{name}/settings/env_vars/{id}         edit it (PATCH …/env_vars/{id}), or
                                                        with `delete` delete it (DELETE)
    POST /{owner}/{name}/settings/crons                 add a cron (POST …/crons)
    POST /{owner}/{name}/settings/crons/delete          remove one (DELETE …/crons)
    POST /{owner}/{name}/settings/caches/delete         delete caches (DELETE …/caches)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from roundhouse.platform.api import env_vars
from roundhouse.platform.api.crons import NewCron, add_cron, remove_cron
from roundhouse.platform.api.deps import CanAdmin, CsrfChecked, Granted, ServicesDep
from roundhouse.platform.api.repo_caches import delete_caches
from roundhouse.platform.api.repo_settings import (
    SWITCHES,
    TIMEOUTS,
    SettingsChange,
    change_settings,
)
from roundhouse.platform.web import flash
from roundhouse.platform.web.settings_page import show_settings

router = APIRouter()
Csrf = Annotated[None, CsrfChecked]
SECRETS = ("forge_token", "webhook_secret")


async def _typed(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _problem(error: Any) -> tuple[str, str]:
    """A pydantic error as (field, sentence); the field is "" for the form as a whole."""
    loc = error.get("loc") or ("",)
    return str(loc[-1]), str(error.get("msg", "not valid")).removeprefix("Value error, ")


async def _apply(
    request: Request,
    svc: ServicesDep,
    access: Granted,
    form: str,
    typed: dict[str, str],
    change: Callable[[], Awaitable[str]],
) -> Response:
    """Runs `change` (it returns the flash message); a refusal re-renders the page."""
    try:
        done = await change()
    except ValidationError as invalid:
        errors, status = dict(_problem(e) for e in invalid.errors()), 422
    except HTTPException as refused:
        errors, status = {"": str(refused.detail)}, refused.status_code
    else:
        section = form if not form.startswith("env-") else "env"
        response = RedirectResponse(f"/{access.repository.slug}/settings#{section}", 303)
        flash.leave(request, response, done)
        return response
    return await show_settings(
        request, svc, access, form=form, errors=errors, values=typed, status=status
    )


@router.post("/{owner}/{name}/settings")
async def save_general(
    request: Request, owner: str, name: str, svc: ServicesDep, access: CanAdmin, _csrf: Csrf
) -> Response:
    typed = await _typed(request)
    # A checkbox that is not ticked is not sent: every switch of the form is set.
    data: dict[str, Any] = {switch: switch in typed for switch in SWITCHES}
    data["maximum_number_of_builds"] = typed.get("maximum_number_of_builds", "").strip() or "0"
    for timeout in TIMEOUTS:  # blank: the instance's setting
        data[timeout] = typed.get(timeout, "").strip() or None

    async def change() -> str:
        body = SettingsChange.model_validate(data)
        await change_settings(access.repository.slug, body, svc, access)
        return "Saved the build settings."

    return await _apply(request, svc, access, "general", typed, change)


@router.post("/{owner}/{name}/settings/forge")
async def save_forge(
    request: Request, owner: str, name: str, svc: ServicesDep, access: CanAdmin, _csrf: Csrf
) -> Response:
    typed = await _typed(request)
    data: dict[str, Any] = {
        "forge": typed.get("forge") or None,
        "forge_api_url": typed.get("forge_api_url", "").strip() or None,
    }
    for secret in SECRETS:
        # Blank keeps the stored value (it is never shown, so it cannot be edited).
        if f"clear_{secret}" in typed:
            data[secret] = None
        elif typed.get(secret, "").strip():
            data[secret] = typed[secret].strip()

    async def change() -> str:
        body = SettingsChange.model_validate(data)
        await change_settings(access.repository.slug, body, svc, access)
        return "Saved the forge settings."

    return await _apply(request, svc, access, "forge", typed, change)


def _variable(typed: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": typed.get("name", "").strip(),
        "public": "public" in typed,
        "branch": typed.get("branch", ""),
    }
    if typed.get("value"):
        data["value"] = typed["value"]
    return data


@router.post("/{owner}/{name}/settings/env_vars")
async def add_variable(
    request: Request, owner: str, name: str, svc: ServicesDep, access: CanAdmin, _csrf: Csrf
) -> Response:
    typed = await _typed(request)
    data = {"value": "", **_variable(typed)}

    async def change() -> str:
        added = await env_vars.add_env_var(env_vars.NewEnvVar.model_validate(data), svc, access)
        return f"Added {added['name']}."

    return await _apply(request, svc, access, "env", typed, change)


@router.post("/{owner}/{name}/settings/env_vars/{var_id}")
async def change_variable(
    request: Request,
    owner: str,
    name: str,
    var_id: int,
    svc: ServicesDep,
    access: CanAdmin,
    _csrf: Csrf,
) -> Response:
    """Saves the variable's edit form, or deletes it (its Delete button sends `delete`)."""
    typed = await _typed(request)

    async def change() -> str:
        if "delete" in typed:
            gone = await env_vars.get_env_var(var_id, svc, access)
            await env_vars.delete_env_var(var_id, svc, access)
            return f"Deleted {gone['name']}."
        body = env_vars.EnvVarChange.model_validate(_variable(typed))
        changed = await env_vars.change_env_var(var_id, body, svc, access)
        return f"Saved {changed['name']}."

    return await _apply(request, svc, access, f"env-{var_id}", typed, change)


@router.post("/{owner}/{name}/settings/crons")
async def add_cron_job(
    request: Request, owner: str, name: str, svc: ServicesDep, access: CanAdmin, _csrf: Csrf
) -> Response:
    typed = await _typed(request)
    data = {
        "branch": typed.get("branch", "").strip(),
        "interval": typed.get("interval", ""),
        "dont_run_if_recent_build_exists": "dont_run_if_recent_build_exists" in typed,
    }

    async def change() -> str:
        added = await add_cron(NewCron.model_validate(data), svc, access)
        return f"Added a {added['interval']} cron job for {added['branch']}."

    return await _apply(request, svc, access, "crons", typed, change)


@router.post("/{owner}/{name}/settings/crons/delete")
async def remove_cron_job(
    request: Request, owner: str, name: str, svc: ServicesDep, access: CanAdmin, _csrf: Csrf
) -> Response:
    branch = (await _typed(request)).get("branch", "")

    async def change() -> str:
        await remove_cron(branch, svc, access)
        return f"Removed the cron job of {branch}."

    return await _apply(request, svc, access, "crons", {}, change)


@router.post("/{owner}/{name}/settings/caches/delete")
async def delete_cache(
    request: Request, owner: str, name: str, svc: ServicesDep, access: CanAdmin, _csrf: Csrf
) -> Response:
    typed = await _typed(request)

    async def change() -> str:
        branch, cache = typed.get("branch") or None, typed.get("name") or None
        deleted = (await delete_caches(svc, access, branch, cache))["caches"]
        return f"Deleted {len(deleted)} cache{'' if len(deleted) == 1 else 's'}."

    return await _apply(request, svc, access, "caches", {}, change)
