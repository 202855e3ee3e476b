"""A repository's tabs besides Current and Requests: Build history (paginated), Branches (last
build per branch), Pull requests (last build per pull request) and Settings (read-only).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from roundhouse.platform.api import serialize
from roundhouse.platform.api.deps import MaybeUserDep, ServicesDep, find_repository
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
    user: MaybeUserDep,
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    url = svc.ctx.settings.public_url
    async with svc.ctx.sessions() as session:
        repo = await find_repository(session, f"{owner}/{name}", user)
        history = await repo_data.build_page(session, repo.id, page, url)
        data = serialize.repository(repo, url)
    return render(request, "builds.html", user, repo=data, **history, topics=[f"repo:{data['id']}"])


@router.get("/{owner}/{name}/branches", response_class=HTMLResponse)
async def branches_page(
    request: Request,
    owner: str,
    name: str,
    svc: ServicesDep,
    user: MaybeUserDep,
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    return await _last_builds_page(request, f"{owner}/{name}", svc, user, page, "branches")


@router.get("/{owner}/{name}/pull_requests", response_class=HTMLResponse)
async def pull_requests_page(
    request: Request,
    owner: str,
    name: str,
    svc: ServicesDep,
    user: MaybeUserDep,
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    return await _last_builds_page(request, f"{owner}/{name}", svc, user, page, "pull_requests")


async def _last_builds_page(
    request: Request, slug: str, svc: ServicesDep, user: Any, page: int, tab: str
) -> HTMLResponse:
    """The Branches or Pull requests tab: the last build of each, a page at a time."""
    url = svc.ctx.settings.public_url
    lister = repo_data.branches if tab == "branches" else repo_data.pull_requests
    async with svc.ctx.sessions() as session:
        repo = await find_repository(session, slug, user)
        listed = await lister(session, repo.id, page, url)
        data = serialize.repository(repo, url)
    return render(request, f"{tab}.html", user, repo=data, **listed, topics=[f"repo:{data['id']}"])


@router.get("/{owner}/{name}/settings", response_class=HTMLResponse)
async def settings_page(
    request: Request, owner: str, name: str, svc: ServicesDep, user: MaybeUserDep
) -> HTMLResponse:
    """What the settings API reads, the webhook to paste into the forge, the public key for
    `secure:` values and the caches; changing them is the API's for now (PATCH …/settings)."""
    url = svc.ctx.settings.public_url
    async with svc.ctx.sessions() as session:
        repo = await find_repository(session, f"{owner}/{name}", user)
        settings = settings_of(repo)
        data = serialize.repository(repo, url)
    if user is None:
        # The settings API needs a token, and so does this page.
        return render(request, "settings.html", user, repo=data, settings=None)
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
