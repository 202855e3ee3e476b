"""Request-scoped helpers for routes: the services, the caller's user, lookups by slug or id.

Lookups raise HTTP 404 with a message; write routes require a valid API token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import Build, Job, Repository, User
from roundhouse.platform.auth import user_for_token
from roundhouse.platform.services import Services
from roundhouse.platform.suspension import suspended_owner


def services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(services)]


def token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    return request.cookies.get("roundhouse_token")


async def current_user(request: Request, svc: ServicesDep) -> User | None:
    token = token_of(request)
    if not token:
        return None
    async with svc.ctx.sessions() as session, session.begin():
        user = await user_for_token(session, token)
        suspended = None if user is not None else await suspended_owner(session, token)
    if suspended is not None:
        raise HTTPException(
            403,
            f"The account {suspended} is suspended; an administrator can lift it with"
            f" `roundhouse users unsuspend {suspended}`.",
        )
    return user


async def require_user(user: Annotated[User | None, Depends(current_user)]) -> User:
    if user is None:
        raise HTTPException(
            401, "A valid API token is required: send 'Authorization: token <TOKEN>'."
        )
    return user


UserDep = Annotated[User, Depends(require_user)]
MaybeUserDep = Annotated[User | None, Depends(current_user)]


async def find_repository(session: AsyncSession, slug: str, user: User | None) -> Repository:
    """By slug ("owner/name", URL-encoded or not) or numeric id; private ones need a user."""
    query = select(Repository)
    query = (
        query.where(Repository.id == int(slug))
        if slug.isdigit()
        else query.where(Repository.slug == slug)
    )
    repo = await session.scalar(query)
    if repo is None or (repo.private and user is None):
        raise HTTPException(404, f"Repository {slug!r} not found.")
    return repo


async def find_build(session: AsyncSession, build_id: int, user: User | None) -> Build:
    build = await session.get(Build, build_id)
    if build is None or (build.repository.private and user is None):
        raise HTTPException(404, f"Build {build_id} not found.")
    return build


async def find_job(session: AsyncSession, job_id: int, user: User | None) -> Job:
    job = await session.get(Job, job_id)
    if job is None or (job.build.repository.private and user is None):
        raise HTTPException(404, f"Job {job_id} not found.")
    return job
