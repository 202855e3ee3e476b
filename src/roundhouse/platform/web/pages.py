"""Web page routes. Each page is rendered from the same serialised data the API returns,
and declares the live topics its script listens to (see static/app.js).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sse_starlette.sse import EventSourceResponse

from roundhouse.db.models import Build, Job, JobTransition, User
from roundhouse.db.models import Request as BuildRequest
from roundhouse.platform.api import serialize
from roundhouse.platform.api.deps import (
    CanPull,
    MaybeUserDep,
    ServicesDep,
    find_build,
    find_job,
    find_repository,
)
from roundhouse.platform.api.repos import list_repos
from roundhouse.platform.notify.delivery import summary
from roundhouse.platform.web.matrix import job_matrix

WEB = resources.files("roundhouse.platform.web")
templates = Jinja2Templates(directory=str(WEB / "templates"))
router = APIRouter()


def render(request: Request, name: str, user: Any, **context: Any) -> HTMLResponse:
    """The page, with this browser's CSRF token for its forms and buttons."""
    signer = request.app.state.services.ctx.session_signer
    csrf_token, fresh = signer.csrf_for_page(request)
    response = templates.TemplateResponse(
        request, name, {"user": user, "csrf_token": csrf_token, **context}
    )
    if fresh is not None:
        signer.remember_presession(response, fresh)
    return response


@router.get("/", response_class=HTMLResponse)
async def repositories(request: Request, svc: ServicesDep, user: MaybeUserDep) -> HTMLResponse:
    data = await list_repos(svc, user)
    return render(request, "repos.html", user, repos=data["repositories"], topics=["repos"])


@router.get("/api/events")
async def events(
    svc: ServicesDep, user: MaybeUserDep, topic: Annotated[list[str], Query()]
) -> EventSourceResponse:
    """Tells a page that something it shows changed; the page then re-reads itself. Topics of
    repositories, builds and jobs the caller may not read are 404, like their pages."""
    async with svc.ctx.sessions() as session:
        for name in topic:
            await check_topic(session, name, user)

    async def stream() -> AsyncIterator[dict[str, str]]:
        async with svc.ctx.bus.subscribe(*topic) as queue:
            while True:
                changed = await queue.get()
                # Coalesce bursts (a job start touches job, build and repo at once).
                await asyncio.sleep(0.05)
                yield {"event": "changed", "data": json.dumps({"topic": changed})}

    return EventSourceResponse(stream(), ping=15)


async def check_topic(session: AsyncSession, topic: str, user: User | None) -> None:
    kind, _, key = topic.partition(":")
    if kind == "repos" and not key:
        return  # the list of repositories: each reader re-reads only what they may see
    if not key.isdigit() or kind not in ("repo", "build", "job"):
        raise HTTPException(404, f"No topic {topic!r}.")
    if kind == "repo":
        await find_repository(session, key, user)
    elif kind == "build":
        await find_build(session, int(key), user)
    else:
        await find_job(session, int(key), user)


@router.get("/{owner}/{name}/builds/{build_id}", response_class=HTMLResponse)
async def build_page(
    request: Request, owner: str, name: str, build_id: int, svc: ServicesDep, access: CanPull
) -> HTMLResponse:
    return await render_build(request, build_id, svc, access.user)


async def render_build(
    request: Request, build_id: int, svc: ServicesDep, user: User | None
) -> HTMLResponse:
    async with svc.ctx.sessions() as session:
        build = await find_build(session, build_id, user)
        jobs = list(
            await session.scalars(select(Job).where(Job.build_id == build_id).order_by(Job.id))
        )
        data = serialize.build(build, svc.ctx.settings.public_url, jobs)
        data["notifications"] = await summary(session, build_id)
        repo = serialize.repository(build.repository, svc.ctx.settings.public_url)
    matrix = job_matrix(data["jobs"])
    topics = [f"build:{build_id}"]
    return render(request, "build.html", user, repo=repo, build=data, matrix=matrix, topics=topics)


@router.get("/{owner}/{name}/jobs/{job_id}", response_class=HTMLResponse)
async def job_page(
    request: Request, owner: str, name: str, job_id: int, svc: ServicesDep, access: CanPull
) -> HTMLResponse:
    job, user = access.job, access.user
    assert job is not None  # the path names it
    async with svc.ctx.sessions() as session:
        history = list(
            await session.scalars(
                select(JobTransition)
                .where(JobTransition.job_id == job_id)
                .order_by(JobTransition.id)
            )
        )
        data = serialize.job(job, svc.ctx.settings.public_url, history=history)
        build = serialize.build(job.build, svc.ctx.settings.public_url)
        repo = serialize.repository(job.build.repository, svc.ctx.settings.public_url)
    return render(
        request, "job.html", user, repo=repo, build=build, job=data, topics=[f"job:{job_id}"]
    )


@router.get("/{owner}/{name}/requests", response_class=HTMLResponse)
async def requests_page(
    request: Request, owner: str, name: str, svc: ServicesDep, access: CanPull
) -> HTMLResponse:
    repo, user = access.repository, access.user
    async with svc.ctx.sessions() as session:
        rows = await session.scalars(
            select(BuildRequest)
            .where(BuildRequest.repository_id == repo.id)
            .order_by(BuildRequest.id.desc())
            .limit(100)
        )
        items = [serialize.request(r) for r in rows]
        data = serialize.repository(repo, svc.ctx.settings.public_url)
    return render(
        request, "requests.html", user, repo=data, requests=items, topics=[f"repo:{repo.id}"]
    )


@router.get("/{owner}/{name}/builds", response_class=HTMLResponse)
async def builds_page(
    request: Request, owner: str, name: str, svc: ServicesDep, access: CanPull
) -> HTMLResponse:
    repo, user = access.repository, access.user
    async with svc.ctx.sessions() as session:
        rows = await session.scalars(
            select(Build).where(Build.repository_id == repo.id).order_by(Build.id.desc()).limit(50)
        )
        url = svc.ctx.settings.public_url
        items = [serialize.build(b, url) for b in rows]
        data = serialize.repository(repo, url)
    return render(request, "builds.html", user, repo=data, builds=items, topics=[f"repo:{repo.id}"])


@router.get("/{owner}/{name}", response_class=HTMLResponse, response_model=None)
async def current_build(
    request: Request, owner: str, name: str, svc: ServicesDep, access: CanPull
) -> Response:
    repo = access.repository
    async with svc.ctx.sessions() as session:
        latest = await session.scalar(
            select(Build.id)
            .where(Build.repository_id == repo.id)
            .order_by(Build.id.desc())
            .limit(1)
        )
    if latest is None:
        return RedirectResponse(f"/{repo.slug}/requests", status_code=303)
    return await render_build(request, latest, svc, access.user)


def mount(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(WEB / "static")), name="static")
    app.include_router(router)
