"""Helpers of the people tests: users made through the API, their tokens, a private
repository with a finished build, and clients signed in as somebody.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from roundhouse import tlsclient
from roundhouse.db.models import Job, User
from roundhouse.platform.auth import create_token
from tests.conftest import GitRepo, Running

PASSING = "language: shell\nscript:\n  - echo hello from a private build\n"


async def add_user(system: Running, login: str, **extra: Any) -> str:
    """A user made by the admin through the API; returns an API token of theirs."""
    made = await system.http.post("/api/users", json={"login": login, **extra})
    assert made.status_code == 201, made.text
    async with system.instance.services.ctx.sessions() as session, session.begin():
        user = await session.scalar(select(User).where(User.login == login))
        assert user is not None
        return await create_token(session, user, "tests")


def client(system: Running, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"token {token}"} if token else {}
    return tlsclient.async_client(base_url=system.url, headers=headers, timeout=30)


@dataclass
class PrivateProject:
    slug: str
    repo_id: int
    build_id: int
    job_id: int


async def private_project(
    system: Running, git_repo: Callable[..., GitRepo], owner: str = "secret"
) -> PrivateProject:
    """A private repository with one finished build (job and log included)."""
    repo = git_repo(owner=owner)
    repo.commit({".travis.yml": PASSING})
    added = await system.http.post("/api/repos", json={"url": repo.url, "private": True})
    assert added.status_code == 201, added.text
    slug, repo_id = added.json()["slug"], added.json()["id"]
    build_id = await system.build_of(slug, await system.trigger(slug))
    assert (await system.finished_build(build_id))["state"] == "passed"
    async with system.instance.services.ctx.sessions() as session:
        job_id = await session.scalar(select(Job.id).where(Job.build_id == build_id))
    assert job_id is not None
    return PrivateProject(slug, repo_id, build_id, job_id)


async def grant(system: Running, slug: str, login: str, role: str) -> None:
    granted = await system.http.put(f"/api/repo/{slug}/permissions/{login}", json={"role": role})
    assert granted.status_code == 200, granted.text
