"""Cron builds of a repository: GET, POST and DELETE /api/repo/{slug}/crons.

One cron per branch (Travis's rule): posting one for a branch that has one replaces it.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select

from roundhouse.db.models import Cron, utcnow
from roundhouse.platform.api import serialize
from roundhouse.platform.api.deps import CanAdmin, CanPull, ServicesDep
from roundhouse.platform.git import GitError, ls_remote_heads

router = APIRouter()


class NewCron(BaseModel):
    model_config = ConfigDict(extra="forbid")

    branch: str = Field(min_length=1)
    interval: Literal["daily", "weekly", "monthly"]
    dont_run_if_recent_build_exists: bool = False


@router.get("/repo/{slug:path}/crons")
async def list_crons(svc: ServicesDep, access: CanPull) -> dict[str, Any]:
    async with svc.ctx.sessions() as session:
        repo = access.repository
        rows = await session.scalars(
            select(Cron).where(Cron.repository_id == repo.id).order_by(Cron.branch)
        )
        return {"crons": [serialize.cron(c) for c in rows]}


@router.post("/repo/{slug:path}/crons", status_code=201)
async def add_cron(body: NewCron, svc: ServicesDep, access: CanAdmin) -> dict[str, Any]:
    repository_id, url, slug = access.repository.id, access.repository.url, access.repository.slug
    try:
        heads = await ls_remote_heads(url)
    except GitError as error:
        raise HTTPException(422, f"Cannot read the git repository at {url}: {error}") from None
    if body.branch not in heads:
        raise HTTPException(422, f"Branch {body.branch!r} does not exist in {slug}.")
    async with svc.ctx.sessions() as session, session.begin():
        await session.execute(
            delete(Cron).where(Cron.repository_id == repository_id, Cron.branch == body.branch)
        )
        now = utcnow()
        cron = Cron(
            repository_id=repository_id,
            branch=body.branch,
            interval=body.interval,
            dont_run_if_recent_build_exists=body.dont_run_if_recent_build_exists,
            created_at=now,
            next_run_at=now,
        )
        session.add(cron)
        await session.flush()
        await session.refresh(cron, ["repository"])
        return serialize.cron(cron)


@router.delete("/repo/{slug:path}/crons")
async def remove_cron(branch: str, svc: ServicesDep, access: CanAdmin) -> dict[str, Any]:
    async with svc.ctx.sessions() as session, session.begin():
        repo = access.repository
        cron = await session.scalar(
            select(Cron).where(Cron.repository_id == repo.id, Cron.branch == branch)
        )
        if cron is None:
            raise HTTPException(404, f"{repo.slug} has no cron for branch {branch!r}.")
        await session.delete(cron)
    return {"removed": {"slug": repo.slug, "branch": branch}}
