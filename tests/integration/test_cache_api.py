"""The build cache API over real HTTP: who may use it (API tokens, the job token of a running
attempt of that repository), 404 for no archive, 413 for archives over the limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from roundhouse.db.models import Job
from roundhouse.platform.cache import job_token
from tests.conftest import GitRepo, Running, wait_for

NAME = "cache-linux-focal-0--shell"
SLEEPING = "language: shell\nscript:\n  - sleep 60\n"


async def add_repo(system: Running, git_repo: Callable[..., GitRepo]) -> dict[str, Any]:
    repo = git_repo()
    repo.commit({".travis.yml": SLEEPING})
    return await system.add_repo(repo)


async def test_store_and_fetch_with_an_api_token(
    start_system: Any, git_repo: Callable[..., GitRepo]
) -> None:
    system: Running = await start_system(cache_max_bytes=1000)
    repo_id = (await add_repo(system, git_repo))["id"]
    url = f"/api/cache/{repo_id}/feature%2Fx/{NAME}"

    missing = await system.http.get(url)
    assert missing.status_code == 404
    assert "No cache" in missing.json()["error"]

    stored = await system.http.put(url, content=b"archive bytes")
    assert stored.status_code == 201, stored.text
    assert stored.json()["size"] == len(b"archive bytes")
    assert (await system.http.get(url)).content == b"archive bytes"
    # A new branch falls back to the given branch (a pull request's base), then to main.
    fallback = await system.http.get(f"/api/cache/{repo_id}/PR.7/{NAME}?fallback=feature/x")
    assert fallback.content == b"archive bytes"
    await system.http.put(f"/api/cache/{repo_id}/main/{NAME}", content=b"main bytes")
    assert (await system.http.get(f"/api/cache/{repo_id}/new/{NAME}")).content == b"main bytes"

    assert (await system.http.get(f"/api/cache/{repo_id}/main/.hidden")).status_code == 422
    assert (await system.http.get(f"/api/cache/9999/main/{NAME}")).status_code == 404


async def test_archives_over_the_limit_get_413(
    start_system: Any, git_repo: Callable[..., GitRepo]
) -> None:
    system: Running = await start_system(cache_max_bytes=1000)
    repo_id = (await add_repo(system, git_repo))["id"]
    url = f"/api/cache/{repo_id}/main/{NAME}"

    declared = await system.http.put(url, content=b"x" * 1001)
    assert declared.status_code == 413

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted while received
        for _ in range(11):
            yield b"x" * 100

    streamed = await system.http.put(url, content=chunked())
    assert streamed.status_code == 413
    assert (await system.http.get(url)).status_code == 404


async def test_only_known_tokens_get_in(system: Running, git_repo: Callable[..., GitRepo]) -> None:
    added = await add_repo(system, git_repo)
    url = f"{system.url}/api/cache/{added['id']}/main/{NAME}"
    async with httpx.AsyncClient() as anonymous:
        assert (await anonymous.get(url)).status_code == 401
        wrong = await anonymous.get(url, headers={"Authorization": "token nope"})
        assert wrong.status_code == 401
        forged = await anonymous.put(url, content=b"x", headers={"Authorization": "token job.1.x"})
        assert forged.status_code == 401


async def test_a_running_job_token_reaches_its_own_repository_only(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    added = await add_repo(system, git_repo)
    other = await add_repo(system, git_repo)
    build_id = await system.build_of(added["slug"], await system.trigger(added["slug"]))
    job_id = (await system.build(build_id))["jobs"][0]["id"]

    async def started() -> bool:
        return (await system.job(job_id))["state"] == "started"

    await wait_for(started, 20, "the job to start")
    async with system.instance.services.ctx.sessions() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        token = job_token(job)

    async with httpx.AsyncClient(headers={"Authorization": f"token {token}"}) as worker:
        own = f"{system.url}/api/cache/{added['id']}/main/{NAME}"
        assert (await worker.put(own, content=b"job archive")).status_code == 201
        assert (await worker.get(own)).content == b"job archive"
        foreign = f"{system.url}/api/cache/{other['id']}/main/{NAME}"
        assert (await worker.get(foreign)).status_code == 401

        assert (await system.http.post(f"/api/job/{job_id}/cancel")).status_code < 300
        await system.finished_build(build_id)
        assert (await worker.get(own)).status_code == 401  # finished: the token is void
