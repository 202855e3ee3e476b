"""A repository's tabs besides Current, Requests and Settings: Build history (paginated),
Branches (last build per branch) and Pull requests (last build per pull request).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from roundhouse.platform.api import serialize
from roundhouse.platform.api.deps import CanPull, Granted, ServicesDep
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
    return render(
        request,
        "builds.html",
        user,
        repo=data,
        role=access.role,
        **history,
        topics=[f"repo:{data['id']}"],
    )


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
        request,
        f"{tab}.html",
        access.user,
        repo=data,
        role=access.role,
        **listed,
        topics=[f"repo:{data['id']}"],
    )
