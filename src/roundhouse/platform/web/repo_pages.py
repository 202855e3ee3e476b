"""A repository's tabs besides Current and Requests: Build history (paginated), Branches (last
build per branch), Pull requests (last build per pull request) and Settings (read-only).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from roundhouse.platform.api import serialize
from roundhouse.platform.api.deps import CanAdmin, CanPull, Granted, ServicesDep
from roundhouse.platform.api.repo_settings import settings_of
from roundhouse.platform.cache import CacheStore
from roundhouse.platform.forge import FORGES
from roundhouse.platform.web import repo_data
from roundhouse.platform.web.rendering import render

router = APIRouter()


@router.get("/{owner}/{name}/builds", response_class=HTMLResponse)
async def builds_page(
    request: Request,
    owner: str,
    name: str,
    svc: ServicesDep,
    access: CanPull,
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    url, repo, user = svc.ctx.settings.public_url, access.repository, access.user
    async with svc.ctx.sessions() as session:
        history = await repo_data.build_page(session, repo.id, page, url)
        data = serialize.repository(repo, url)
    return render(request, "builds.html", user, repo=data, **history, topics=[f"repo:{data['id']}"])


@router.get("/{owner}/{name}/branches", response_class=HTMLResponse)
async def branches_page(
    request: Request,
    owner: str,
    name: str,
    svc: ServicesDep,
    access: CanPull,
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    return await _last_builds_page(request, svc, access, page, "branches")


@router.get("/{owner}/{name}/pull_requests", response_class=HTMLResponse)
async def pull_requests_page(
    request: Request,
    owner: str,
    name: str,
    svc: ServicesDep,
    access: CanPull,
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    return await _last_builds_page(request, svc, access, page, "pull_requests")


async def _last_builds_page(
    request: Request, svc: ServicesDep, access: Granted, page: int, tab: str
) -> HTMLResponse:
    """The Branches or Pull requests tab: the last build of each, a page at a time."""
    url = svc.ctx.settings.public_url
    lister = repo_data.branches if tab == "branches" else repo_data.pull_requests
    repo = access.repository
    async with svc.ctx.sessions() as session:
        listed = await lister(session, repo.id, page, url)
        data = serialize.repository(repo, url)
    return render(
        request, f"{tab}.html", access.user, repo=data, **listed, topics=[f"repo:{data['id']}"]
    )


@router.get("/{owner}/{name}/settings", response_class=HTMLResponse)
async def settings_page(
    request: Request, owner: str, name: str, svc: ServicesDep, access: CanAdmin
) -> HTMLResponse:
    """What the settings API reads, the webhook to paste into the forge, the public key for
    `secure:` values and the caches; changing them is the API's for now (PATCH …/settings)."""
    url, repo, user = svc.ctx.settings.public_url, access.repository, access.user
    settings = settings_of(repo)
    data = serialize.repository(repo, url)
    key = await svc.keys.public_key(data["id"])
    store = CacheStore.for_settings(svc.ctx.settings)
    caches = [
        {
            "branch": c.branch,
            "name": c.name,
            "size": c.size,
            "last_used": datetime.fromtimestamp(c.last_used, UTC).isoformat(),
        }
        for c in await asyncio.to_thread(store.listing, data["id"])
    ]
    hooks = {forge: f"{url}/hooks/{forge}" for forge in sorted(FORGES)}
    return render(
        request,
        "settings.html",
        user,
        repo=data,
        settings=settings,
        key=key,
        caches=caches,
        hooks=hooks,
    )
