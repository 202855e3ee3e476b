"""The HTTP API of a running Roundhouse, on SQLite and PostgreSQL: error answers, health,
cancel and restart, and the live log stream (Server-Sent Events).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from roundhouse import tlsclient
from tests.conftest import GitRepo, Running, wait_for
from tests.integration.support import finished_build_of, sse_events

UNKNOWN_ID = 2_000_000_000
PARTS_IN_FLIGHT_BUG = (
    "LogService snapshot misses log parts taken from _pending but not yet committed, and "
    "they never come live: a subscriber joining during a flush loses them (and may hang)"
)


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert isinstance(message, str) and message.strip()
    return message


@pytest.fixture
def anonymous(system: Running) -> httpx.AsyncClient:
    return tlsclient.async_client(base_url=system.url, timeout=30)


async def test_health_and_readiness(system: Running, anonymous: httpx.AsyncClient) -> None:
    async with anonymous:
        health = await anonymous.get("/healthz")
        ready = await anonymous.get("/readyz")

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_malformed_json_is_400_with_a_message(system: Running) -> None:
    response = await system.http.post(
        "/api/repos", content=b'{"url": ', headers={"content-type": "application/json"}
    )

    assert "not valid JSON" in error_of(response, 400)


async def test_missing_fields_are_422_naming_them(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    assert "url" in error_of(await system.http.post("/api/repos", json={}), 422)
    assert "url" in error_of(await system.http.post("/api/repos", json={"url": ""}), 422)

    slug = (await system.add_repo(_repo_with_build(git_repo)))["slug"]
    response = await system.http.post(f"/api/repo/{slug}/requests", json={"branch": "main"})
    assert "request" in error_of(response, 422)


async def test_trigger_without_branch_or_sha_is_422(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    slug = (await system.add_repo(_repo_with_build(git_repo)))["slug"]

    response = await system.http.post(f"/api/repo/{slug}/requests", json={"request": {}})

    message = error_of(response, 422)
    assert "branch" in message and "sha" in message
    requests = (await system.http.get(f"/api/repo/{slug}/requests")).json()["requests"]
    assert requests == []  # nothing was recorded


async def test_writes_without_a_token_are_401(
    system: Running, anonymous: httpx.AsyncClient, git_repo: Callable[..., GitRepo]
) -> None:
    repo = _repo_with_build(git_repo)
    slug = (await system.add_repo(repo))["slug"]
    async with anonymous:
        add = await anonymous.post("/api/repos", json={"url": git_repo().url})
        trigger = await anonymous.post(
            f"/api/repo/{slug}/requests", json={"request": {"branch": "main"}}
        )
        wrong = await anonymous.post(
            "/api/repos",
            json={"url": git_repo().url},
            headers={"Authorization": "token not-a-real-token"},
        )
        cancel = await anonymous.post(f"/api/job/{UNKNOWN_ID}/cancel")
        readable = await anonymous.get(f"/api/repo/{slug}")

    for response in (add, trigger, wrong):
        assert "token" in error_of(response, 401)
    # What the caller may not read is not found, whether it exists or not.
    assert error_of(cancel, 404) == f"Job {UNKNOWN_ID} not found."
    assert readable.status_code == 200  # a public repository is readable without one
    assert len((await system.http.get("/api/repos")).json()["repositories"]) >= 1
    assert (await system.http.get(f"/api/repo/{slug}/requests")).json()["requests"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/repo/nobody%2Fnothing",
        "/api/repo/nobody/nothing",
        f"/api/repo/{UNKNOWN_ID}",
        "/api/repo/nobody%2Fnothing/builds",
        "/api/repo/nobody%2Fnothing/requests",
        f"/api/build/{UNKNOWN_ID}",
        f"/api/build/{UNKNOWN_ID}/jobs",
        f"/api/job/{UNKNOWN_ID}",
        f"/api/job/{UNKNOWN_ID}/log",
        f"/api/job/{UNKNOWN_ID}/log.txt",
        f"/api/job/{UNKNOWN_ID}/log/stream",
    ],
)
async def test_unknown_resources_are_404(system: Running, path: str) -> None:
    message = error_of(await system.http.get(path), 404)

    assert "not found" in message


async def test_steering_unknown_resources_is_404(system: Running) -> None:
    for path in (
        f"/api/build/{UNKNOWN_ID}/cancel",
        f"/api/build/{UNKNOWN_ID}/restart",
        f"/api/job/{UNKNOWN_ID}/cancel",
        f"/api/job/{UNKNOWN_ID}/restart",
    ):
        assert str(UNKNOWN_ID) in error_of(await system.http.post(path), 404)
    response = await system.http.post(
        "/api/repo/nobody%2Fnothing/requests", json={"request": {"branch": "main"}}
    )
    assert "nobody/nothing" in error_of(response, 404)


async def test_unreachable_repository_url_is_422_naming_it(system: Running, tmp_path: Path) -> None:
    url = (tmp_path / "no-such-repo").as_uri()

    response = await system.http.post("/api/repos", json={"url": url, "slug": "team/missing"})

    assert url in error_of(response, 422)
    assert (await system.http.get("/api/repo/team%2Fmissing")).status_code == 404


async def test_duplicate_repository_is_409(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = _repo_with_build(git_repo)
    slug = (await system.add_repo(repo))["slug"]

    again = await system.http.post("/api/repos", json={"url": repo.url})

    assert slug in error_of(again, 409)
    repos = (await system.http.get("/api/repos")).json()["repositories"]
    assert [r["slug"] for r in repos].count(slug) == 1


async def test_cancel_of_a_finished_job_is_409(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    build = await finished_build_of(system, git_repo, "language: shell\nscript: echo done\n")
    job_id = build["jobs"][0]["id"]

    message = error_of(await system.http.post(f"/api/job/{job_id}/cancel"), 409)

    assert str(job_id) in message and "passed" in message
    assert (await system.job(job_id))["state"] == "passed"


async def test_restart_of_a_finished_job_runs_a_new_attempt(
    system: Running, git_repo: Callable[..., GitRepo], tmp_path: Path
) -> None:
    counter = tmp_path / "runs"
    script = (
        f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; "
        'echo "run number $n"'
    )
    build = await finished_build_of(system, git_repo, f"language: shell\nscript:\n  - '{script}'\n")
    job_id = build["jobs"][0]["id"]
    assert "run number 1" in await system.log(job_id)

    response = await system.http.post(f"/api/job/{job_id}/restart")
    assert response.status_code == 202, response.text

    async def second_attempt_done() -> dict[str, Any] | None:
        job = await system.job(job_id)
        return job if job["attempt"] == 2 and job["state"] == "passed" else None

    job = await wait_for(second_attempt_done, 20, "attempt 2 to pass")
    log = await system.log(job_id)
    assert "run number 2" in log
    assert "run number 1" not in log
    assert (await system.http.get(f"/api/job/{job_id}/log")).json()["content"] == log
    attempt_two = [h["state"] for h in job["history"] if h["attempt"] == 2]
    assert attempt_two == ["created", "queued", "received", "started", "passed"]
    assert (await system.finished_build(build["id"]))["state"] == "passed"


async def test_log_stream_of_a_finished_job(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    build = await finished_build_of(
        system, git_repo, "language: shell\nscript:\n  - echo alpha\n  - echo beta\n"
    )
    job_id = build["jobs"][0]["id"]
    whole = await system.log(job_id)

    events: list[tuple[str, Any]] = []
    async with (
        asyncio.timeout(10),
        system.http.stream("GET", f"/api/job/{job_id}/log/stream") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for event in sse_events(response):
            events.append(event)
            if event[0] == "end":
                break

    assert events[-1] == ("end", {})
    assert {name for name, _ in events[:-1]} == {"log"}
    assert "".join(data["content"] for _, data in events[:-1]) == whole
    assert "alpha" in whole and "beta" in whole


async def test_log_stream_joined_mid_job_gets_the_past_then_live_then_end(
    system: Running,
    git_repo: Callable[..., GitRepo],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    marker = tmp_path / "go-on"
    repo = git_repo()
    repo.commit(
        {
            ".travis.yml": "language: shell\nscript:\n"
            # printf: the echoed command line does not contain the words it prints
            f'  - printf "%s-%s\\n" step one; while [ ! -f {marker} ]; do sleep 0.05; done; '
            'printf "%s-%s\\n" step two\n'
        }
    )
    slug = (await system.add_repo(repo))["slug"]
    build_id = await system.build_of(slug, await system.trigger(slug))
    job_id = (await system.build(build_id))["jobs"][0]["id"]

    async def says_one() -> bool:
        return "step-one\n" in await system.log(job_id)

    await wait_for(says_one, 20, "the job to print `step-one`")
    restart = await system.http.post(f"/api/job/{job_id}/restart")
    assert "only a finished job" in error_of(restart, 409)

    content = ""
    events: list[str] = []
    async with (
        asyncio.timeout(10),
        system.http.stream("GET", f"/api/job/{job_id}/log/stream") as response,
    ):
        assert response.status_code == 200
        async for name, data in sse_events(response):
            events.append(name)
            if name == "end":
                break
            content += data["content"]
            if "step-one\n" in content and not marker.exists():
                assert "step-two" not in content  # the job is still waiting for the marker
                assert (await system.job(job_id))["state"] == "started"
                marker.touch()

    assert marker.exists()
    assert events[-1] == "end" and events.count("end") == 1
    assert content.index("step-one\n") < content.index("step-two\n")
    assert (await system.job(job_id))["state"] in {"started", "passed"}
    assert content == await system.log(job_id)
    assert (await system.finished_build(build_id))["state"] == "passed"


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_log_stream_includes_parts_being_written(
    system: Running, git_repo: Callable[..., GitRepo], tmp_path: Path, postgres_url: str
) -> None:
    """A table lock of our own holds the log service's write of a part in flight."""
    first, second = tmp_path / "first", tmp_path / "second"
    repo = git_repo()
    repo.commit(
        {
            ".travis.yml": "language: shell\nscript:\n"
            f"  - while [ ! -f {first} ]; do sleep 0.05; done; "
            'printf "%s-%s\\n" step one; '
            f"while [ ! -f {second} ]; do sleep 0.05; done\n"
        }
    )
    slug = (await system.add_repo(repo))["slug"]
    build_id = await system.build_of(slug, await system.trigger(slug))
    job_id = (await system.build(build_id))["jobs"][0]["id"]

    engine = create_async_engine(postgres_url)
    content = ""
    try:
        async with engine.connect() as locker, engine.connect() as observer:

            async def waiting_stored() -> bool:
                # Everything up to the first wait is written: the next write is `step-one`.
                stored = await observer.scalar(
                    text(
                        "SELECT count(*) FROM log_parts "
                        "WHERE job_id = :job AND content LIKE '%$ while%'"
                    ),
                    {"job": job_id},
                )
                await observer.commit()
                return bool(stored)

            await wait_for(waiting_stored, 20, "the job to wait for the first marker")
            transaction = await locker.begin()
            await locker.execute(text("LOCK TABLE log_parts IN EXCLUSIVE MODE"))
            first.touch()

            async def write_blocked() -> bool:
                blocked = await observer.scalar(
                    text(
                        "SELECT count(*) FROM pg_locks "
                        "WHERE relation = 'log_parts'::regclass AND NOT granted"
                    )
                )
                await observer.commit()
                return bool(blocked)

            await wait_for(write_blocked, 10, "the log service to write `step-one`")
            try:
                async with (
                    asyncio.timeout(3),
                    system.http.stream("GET", f"/api/job/{job_id}/log/stream") as response,
                ):
                    async for name, data in sse_events(response):
                        content += data.get("content", "")
                        await transaction.commit()  # let the write go on
                        if name == "end" or "step-one" in content:
                            break
            except TimeoutError:
                pass
            if transaction.is_active:
                await transaction.commit()
    finally:
        first.touch()
        second.touch()
        await engine.dispose()

    assert "step-one" in content
    await system.finished_build(build_id)


def _repo_with_build(git_repo: Callable[..., GitRepo]) -> GitRepo:
    repo = git_repo()
    repo.commit({".travis.yml": "language: shell\nscript: echo hi\n"})
    return repo
