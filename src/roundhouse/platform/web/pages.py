"""Web page routes. Each page is rendered from the same serialised data the API returns,
and declares the live topics its script listens to (see static/live.js).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select

from roundhouse.db.models import Build, Job, JobTransition
from roundhouse.db.models import Request as BuildRequest
from roundhouse.platform.api import serialize
from roundhouse.platform.api.deps import CanPull, Granted, MaybeUserDep, ServicesDep, find_build
from roundhouse.platform.api.repos import list_repos
from roundhouse.platform.notify.delivery import summary
from roundhouse.platform.web import (
    admin,
    admin_actions,
    build_actions,
    live,
    repo_pages,
    settings_forms,
    settings_page,
)
from roundhouse.platform.web.matrix import job_matrix
from roundhouse.platform.web.rendering import WEB, render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def repositories(
    request: Request, svc: ServicesDep, user: MaybeUserDep, q: str = ""
) -> HTMLResponse:
    data = await list_repos(svc, user)
    query = q.strip()
    repos = [r for r in data["repositories"] if query.lower() in r["slug"].lower()]
    return render(request, "repos.html", user, repos=repos, query=query, topics=["repo:*"])


@router.get("/{owner}/{name}/builds/{build_id}", response_class=HTMLResponse)
async def build_page(
    request: Request, owner: str, name: str, build_id: int, svc: ServicesDep, access: CanPull
) -> HTMLResponse:
    return await render_build(request, build_id, svc, access, "builds")


async def render_build(
    request: Request, build_id: int, svc: ServicesDep, access: Granted, active: str
) -> HTMLResponse:
    """The build page; `active` is the repository tab it is shown under."""
    user = access.user
    async with svc.ctx.sessions() as session:
        build = await find_build(session, build_id, user)
        jobs = list(
            await session.scalars(select(Job).where(Job.build_id == build_id).order_by(Job.id))
        )
        data = serialize.build(build, svc.ctx.settings.public_url, jobs)
        data["notifications"] = await summary(session, build_id)
        repo = serialize.repository(build.repository, svc.ctx.settings.public_url)
    matrix = job_matrix(data["jobs"])
    return render(
        request,
        "build.html",
        user,
        repo=repo,
        build=data,
        matrix=matrix,
        # The current build's page moves on to the next build when it starts.
        topics=[f"build:{build_id}"] + ([f"repo:{repo['id']}"] if active == "current" else []),
        watched_state=data["state"],
        active=active,
        role=access.role,
    )


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
        request,
        "job.html",
        user,
        repo=repo,
        build=build,
        job=data,
        topics=[f"job:{job_id}"],
        watched_state=data["state"],
        role=access.role,
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
        request,
        "requests.html",
        user,
        repo=data,
        role=access.role,
        requests=items,
        topics=[f"repo:{repo.id}"],
    )


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
    return await render_build(request, latest, svc, access, "current")


def include(parent: APIRouter) -> None:
    """The static files and every page, after the API (their paths would take its own)."""
    parent.mount("/static", StaticFiles(directory=str(WEB / "static")), name="static")
    parent.include_router(live.router)
    parent.include_router(admin.router)
    parent.include_router(admin_actions.router)
    parent.include_router(build_actions.router)
    parent.include_router(repo_pages.router)
    parent.include_router(settings_page.router)
    parent.include_router(settings_forms.router)
    parent.include_router(router)
