"""API routes for repositories and their requests (triggers).

POST /api/repos adds any git URL; POST /api/repo/{slug}/requests asks for a build.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from roundhouse.db.models import Build, Permission, Repository, Request, utcnow
from roundhouse.platform import repo_secrets
from roundhouse.platform.api import serialize
from roundhouse.platform.api.deps import (
    CanAdmin,
    CanPull,
    CanPush,
    MaybeUserDep,
    ServicesDep,
    SignedIn,
)
from roundhouse.platform.git import GitError, ls_remote_heads
from roundhouse.platform.roles import ADMIN, readable_by

router = APIRouter()
SLUG = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class NewRepository(BaseModel):
    url: str = Field(min_length=1)
    slug: str | None = None
    webhook_secret: str | None = None
    private: bool = False


class RequestBody(BaseModel):
    branch: str | None = None
    sha: str | None = None
    message: str | None = None
    config: str | dict[str, Any] | None = None
    merge_mode: str | None = None


class TriggerBody(BaseModel):
    request: RequestBody


def slug_from_url(url: str) -> str:
    """owner/name from the last two path parts of a git URL."""
    path = re.sub(r"\.git/?$", "", url.rstrip("/"))
    parts = [p for p in re.split(r"[/:]", path) if p]
    if len(parts) < 2:
        raise HTTPException(422, f"Cannot derive owner/name from {url!r}; pass a slug.")
    return f"{parts[-2]}/{parts[-1]}"


@router.get("/repos")
async def list_repos(svc: ServicesDep, user: MaybeUserDep) -> dict[str, Any]:
    async with svc.ctx.sessions() as session:
        query = select(Repository).where(readable_by(user)).order_by(Repository.slug)
        repos = list(await session.scalars(query))
        last_ids = dict(
            (
                await session.execute(
                    select(Build.repository_id, func.max(Build.id)).group_by(Build.repository_id)
                )
            ).all()
        )
        builds = {
            b.repository_id: b
            for b in await session.scalars(select(Build).where(Build.id.in_(last_ids.values())))
        }
    url = svc.ctx.settings.public_url
    return {"repositories": [serialize.repository(r, url, builds.get(r.id)) for r in repos]}


@router.post("/repos", status_code=201)
async def add_repo(body: NewRepository, svc: ServicesDep, user: SignedIn) -> dict[str, Any]:
    """Anybody signed in may add a repository, and becomes its admin."""
    slug = body.slug or slug_from_url(body.url)
    if not SLUG.match(slug):
        raise HTTPException(422, f"Slug {slug!r} is not of the form owner/name.")
    try:
        heads = await ls_remote_heads(body.url)
    except GitError as error:
        raise HTTPException(422, f"Cannot read the git repository at {body.url}: {error}") from None
    async with svc.ctx.sessions() as session, session.begin():
        if await session.scalar(select(Repository).where(Repository.slug == slug)):
            raise HTTPException(409, f"Repository {slug} exists already.")
        repo = Repository(
            slug=slug,
            url=body.url,
            private=body.private,
            poll=body.webhook_secret is None,
            branch_heads=heads,
        )
        repo_secrets.write(svc.ctx.at_rest, repo, "webhook_secret", body.webhook_secret)
        repo.last_polled_at = utcnow()
        session.add(repo)
        await session.flush()
        session.add(Permission(user_id=user.id, repository_id=repo.id, role=ADMIN))
        data = serialize.repository(repo, svc.ctx.settings.public_url)
    return data


@router.get("/repo/{slug:path}/requests")
async def list_requests(slug: str, svc: ServicesDep, access: CanPull) -> dict[str, Any]:
    repo = access.repository
    async with svc.ctx.sessions() as session:
        rows = await session.scalars(
            select(Request)
            .where(Request.repository_id == repo.id)
            .order_by(Request.id.desc())
            .limit(100)
        )
        return {"requests": [serialize.request(r) for r in rows]}


@router.post("/repo/{slug:path}/requests", status_code=202)
async def trigger(
    slug: str, body: TriggerBody, svc: ServicesDep, access: CanPush
) -> dict[str, Any]:
    repo = access.repository
    spec = body.request
    if not spec.branch and not spec.sha:
        raise HTTPException(422, "The request needs a branch or a sha.")
    config = spec.config
    if isinstance(config, dict):
        config = json.dumps(config)  # JSON is YAML, so the gatekeeper reads either
    request_id = await svc.triggers.request_build(
        repo.id,
        event_type="api",
        branch=spec.branch,
        sha=spec.sha,
        message=spec.message or "",
        config=config,
        merge_mode=spec.merge_mode,
        # Who asked: the gatekeeper starts nothing for a user suspended in the meantime.
        sender=access.user.login if access.user else None,
    )
    return {
        "@type": "pending",
        "request": {"id": request_id},
        "repository": {"id": repo.id, "slug": repo.slug},
    }


@router.delete("/repo/{slug:path}")
async def remove_repo(slug: str, svc: ServicesDep, access: CanAdmin) -> dict[str, Any]:
    async with svc.ctx.sessions() as session, session.begin():
        repo = await session.get(Repository, access.repository.id)
        if repo is not None:
            await session.delete(repo)
    return {"removed": slug}


@router.get("/repo/{slug:path}/builds")
async def list_builds(
    slug: str, svc: ServicesDep, access: CanPull, limit: int = 25
) -> dict[str, Any]:
    repo = access.repository
    async with svc.ctx.sessions() as session:
        rows = await session.scalars(
            select(Build)
            .where(Build.repository_id == repo.id)
            .order_by(Build.id.desc())
            .limit(min(limit, 100))
        )
        return {"builds": [serialize.build(b, svc.ctx.settings.public_url) for b in rows]}


@router.get("/repo/{slug:path}")
async def get_repo(slug: str, svc: ServicesDep, access: CanPull) -> dict[str, Any]:
    data = serialize.repository(access.repository, svc.ctx.settings.public_url)
    data["role"] = access.role
    return data
