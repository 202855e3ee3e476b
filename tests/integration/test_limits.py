"""The scheduler's limits and waiting reasons: a repository's maximum_number_of_builds, an
owner's concurrency, and later stages waiting for earlier ones — each visible on the job,
in the API and in `roundhouse queues` — and restarted jobs going first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import update

from roundhouse.db.models import Job
from tests.conftest import GitRepo, Running, wait_for
from tests.integration.test_cli import run

ACTIVE = {"queued", "received", "started"}


def waiting_on(flag: Path, jobs: int = 1) -> str:
    """A .travis.yml of `jobs` jobs that each wait for flag to exist."""
    matrix = "".join(f"    - N={n}\n" for n in range(jobs))
    script = f"while [ ! -e {flag} ]; do sleep 0.05; done"
    return f"language: shell\nenv:\n  jobs:\n{matrix}script: '{script}'\n"


async def jobs_of(system: Running, build_id: int) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = (await system.build(build_id))["jobs"]
    return jobs


async def test_a_repository_limit_holds_jobs_back_and_each_says_why(
    start_system: Callable[..., Awaitable[Running]],
    git_repo: Callable[..., GitRepo],
    tmp_path: Path,
) -> None:
    system = await start_system(pool_size=3)
    flag = tmp_path / "go-on"
    repo = git_repo()
    repo.commit({".travis.yml": waiting_on(flag, jobs=3)})
    slug = (await system.add_repo(repo))["slug"]
    answer = await system.http.patch(
        f"/api/repo/{slug}/settings", json={"maximum_number_of_builds": 1}
    )
    assert answer.json()["maximum_number_of_builds"] == 1
    build_id = await system.build_of(slug, await system.trigger(slug))
    reason = f"waiting: {slug} runs at most 1 job at once (its maximum_number_of_builds setting)"

    async def one_runs_two_wait() -> bool:
        jobs = await jobs_of(system, build_id)
        running = [job for job in jobs if job["state"] in ACTIVE]
        waiting = [job["waiting_reason"] for job in jobs if job["state"] == "created"]
        return len(running) == 1 and waiting == [reason, reason]

    await wait_for(one_runs_two_wait, 20, "one job to run and two to wait", every=0.1)
    queues = await run(system, "queues")
    assert f"  2 jobs waiting: {reason}" in queues.out
    flag.touch()
    build = await system.finished_build(build_id, timeout=60)
    assert build["state"] == "passed"


async def test_an_owner_limit_spans_repositories_and_later_stages_wait_for_earlier_ones(
    start_system: Callable[..., Awaitable[Running]],
    git_repo: Callable[..., GitRepo],
    tmp_path: Path,
) -> None:
    system = await start_system(pool_size=3, owner_concurrency=1)
    flag = tmp_path / "go-on"
    first, second = git_repo(owner="team"), git_repo(owner="team")
    first.commit(
        {
            ".travis.yml": (
                "language: shell\njobs:\n  include:\n"
                f"    - stage: test\n      script: 'while [ ! -e {flag} ]; do sleep 0.05; done'\n"
                "    - stage: deploy\n      script: true\n"
            )
        }
    )
    second.commit({".travis.yml": "language: shell\nscript: true\n"})
    slug_a = (await system.add_repo(first))["slug"]
    slug_b = (await system.add_repo(second))["slug"]
    build_a = await system.build_of(slug_a, await system.trigger(slug_a))

    async def started() -> bool:
        return (await jobs_of(system, build_a))[0]["state"] == "started"

    await wait_for(started, 20, "the test stage to start", every=0.1)
    build_b = await system.build_of(slug_b, await system.trigger(slug_b))

    async def reasons() -> list[str | None] | None:
        deploy = (await jobs_of(system, build_a))[1]["waiting_reason"]
        other = (await jobs_of(system, build_b))[0]["waiting_reason"]
        return [deploy, other] if deploy and other else None

    found = await wait_for(reasons, 20, "both jobs to say why they wait", every=0.1)
    assert found == [
        "waiting for the stage test to finish",
        "waiting: team runs at most 1 job at once (owner_concurrency setting)",
    ]
    flag.touch()
    assert (await system.finished_build(build_a, timeout=60))["state"] == "passed"
    assert (await system.finished_build(build_b, timeout=60))["state"] == "passed"


async def test_a_restarted_job_goes_before_first_attempts_when_a_place_frees(
    start_system: Callable[..., Awaitable[Running]],
    git_repo: Callable[..., GitRepo],
    tmp_path: Path,
) -> None:
    system = await start_system(pool_size=2, owner_concurrency=1)
    flag = tmp_path / "go-on"
    repo = git_repo()
    repo.commit({".travis.yml": waiting_on(flag, jobs=3)})
    slug = (await system.add_repo(repo))["slug"]
    build_id = await system.build_of(slug, await system.trigger(slug))

    async def one_runs() -> list[dict[str, Any]] | None:
        jobs = await jobs_of(system, build_id)
        waiting = [job for job in jobs if job["state"] == "created" and job["waiting_reason"]]
        return jobs if len(waiting) == 2 else None

    first, second, third = await wait_for(one_runs, 20, "two jobs to wait", every=0.1)
    # The last job stands for a restarted one: attempt 2 (the hub's restart needs it finished).
    async with system.instance.services.ctx.sessions() as session, session.begin():
        await session.execute(update(Job).where(Job.id == third["id"]).values(attempt=2))
    flag.touch()
    await system.finished_build(build_id, timeout=60)
    assert first["state"] in ACTIVE
    restarted, waited = [(await system.job(job["id"]))["queued_at"] for job in (third, second)]
    assert restarted < waited
