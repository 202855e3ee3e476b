"""Cron builds: the API and CLI that manage them, and the scheduler run with a clock the test
moves (no waiting): event type `cron` in the job, one run per interval, a skipped run when the
branch was built recently, and two schedulers on one database running a cron once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from roundhouse.db.models import Request, utcnow
from roundhouse.db.session import make_engine, make_sessions
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.crons import CronScheduler, advance
from tests.conftest import GitRepo, Running
from tests.integration.test_cli import run

Start = Callable[..., Awaitable[Running]]
TRAVIS_YML = 'language: shell\nscript: echo "event=$TRAVIS_EVENT_TYPE branch=$TRAVIS_BRANCH"\n'


class Clock:
    """The scheduler's time, moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def skip(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def repo_with_cron(
    system: Running, git_repo: Callable[..., GitRepo], **cron: Any
) -> tuple[str, dict[str, Any]]:
    repo = git_repo()
    repo.commit({".travis.yml": TRAVIS_YML})
    slug = (await system.add_repo(repo))["slug"]
    response = await system.http.post(
        f"/api/repo/{slug}/crons", json={"branch": "main", "interval": "daily", **cron}
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return slug, data


def scheduler(system: Running, clock: Clock) -> CronScheduler:
    services = system.instance.services
    return CronScheduler(services.ctx, services.triggers, clock)


async def test_a_daily_cron_builds_the_branch_once_a_day_as_a_cron_event(
    start_system: Start, git_repo: Callable[..., GitRepo]
) -> None:
    system = await start_system(cron_interval=3600)
    slug, cron = await repo_with_cron(system, git_repo)
    assert (cron["branch"], cron["interval"], cron["last_run_at"]) == ("main", "daily", None)
    clock = Clock()
    crons = scheduler(system, clock)

    [request_id] = await crons.run_once()
    build = await system.finished_build(await system.build_of(slug, request_id))
    assert (build["event_type"], build["branch"], build["state"]) == ("cron", "main", "passed")
    job_id = build["jobs"][0]["id"]
    assert "event=cron branch=main" in await system.log(job_id)

    clock.skip(hours=23)
    assert await crons.run_once() == []
    clock.skip(hours=2)
    [again] = await crons.run_once()
    assert again != request_id
    [listed] = (await system.http.get(f"/api/repo/{slug}/crons")).json()["crons"]
    assert listed["last_request_id"] == again
    assert listed["last_run_at"] is not None
    assert datetime.fromisoformat(listed["next_run_at"]) > clock.now


async def test_a_recent_build_skips_the_run_when_asked(
    start_system: Start, git_repo: Callable[..., GitRepo]
) -> None:
    system = await start_system(cron_interval=3600)
    slug, _ = await repo_with_cron(system, git_repo, dont_run_if_recent_build_exists=True)
    await system.finished_build(await system.build_of(slug, await system.trigger(slug)))
    clock = Clock()
    crons = scheduler(system, clock)

    assert await crons.run_once() == []
    [skipped] = (await system.http.get(f"/api/repo/{slug}/crons")).json()["crons"]
    assert "less than 24 hours old (dont_run_if_recent_build_exists)" in skipped["last_skip_reason"]

    clock.skip(days=1, minutes=1)  # the push build is now more than a day old
    assert len(await crons.run_once()) == 1


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_schedulers_on_one_database_run_a_cron_once(
    start_system: Start, git_repo: Callable[..., GitRepo], database_url: str
) -> None:
    system = await start_system(cron_interval=3600)
    await repo_with_cron(system, git_repo)
    services = system.instance.services
    clock = Clock()
    # A second platform process's view: its own engine, so its own database connections.
    engine = make_engine(database_url)
    other_ctx = PlatformContext(services.ctx.settings, make_sessions(engine), services.ctx.broker)
    try:
        made = await asyncio.gather(
            CronScheduler(services.ctx, services.triggers, clock).run_once(),
            CronScheduler(other_ctx, services.triggers, clock).run_once(),
        )
    finally:
        await engine.dispose()
    assert sorted(len(ids) for ids in made) == [0, 1]
    async with services.ctx.sessions() as session:
        kinds = list(
            await session.scalars(select(Request.event_type).where(Request.event_type == "cron"))
        )
    assert kinds == ["cron"]


async def test_the_api_checks_what_it_is_given(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    slug, _ = await repo_with_cron(system, git_repo)
    crons = f"/api/repo/{slug}/crons"
    bad = await system.http.post(crons, json={"branch": "main", "interval": "hourly"})
    assert bad.status_code == 422
    assert "interval" in bad.json()["error"]
    missing = await system.http.post(crons, json={"branch": "nope", "interval": "weekly"})
    assert (missing.status_code, missing.json()["error"]) == (
        422,
        f"Branch 'nope' does not exist in {slug}.",
    )
    anonymous = await system.http.post(
        crons, json={"branch": "main", "interval": "weekly"}, headers={"Authorization": ""}
    )
    assert anonymous.status_code == 401

    replaced = await system.http.post(crons, json={"branch": "main", "interval": "monthly"})
    assert replaced.status_code == 201
    [only] = (await system.http.get(crons)).json()["crons"]
    assert (only["id"], only["interval"]) == (replaced.json()["id"], "monthly")

    assert (await system.http.delete(crons, params={"branch": "main"})).status_code == 200
    assert (await system.http.get(crons)).json()["crons"] == []
    gone = await system.http.delete(crons, params={"branch": "main"})
    assert (gone.status_code, gone.json()["error"]) == (
        404,
        f"{slug} has no cron for branch 'main'.",
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_cli_adds_lists_and_removes_crons(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": TRAVIS_YML})
    slug = (await system.add_repo(repo))["slug"]
    added = await run(system, "cron", "add", slug, "main", "--interval", "weekly")
    assert added.code == 0, added.err
    assert added.out.startswith(f"Cron weekly for {slug} main; next run ")
    listed = await run(system, "cron", "list", slug)
    assert listed.out.split()[:2] == ["main", "weekly"]
    wrong = await run(system, "cron", "add", slug, "main", "--interval", "hourly")
    assert wrong.code == 2 and "hourly" in wrong.err
    removed = await run(system, "cron", "remove", slug, "main")
    assert removed.out == f"Removed the cron of {slug} main\n"
    assert (await run(system, "cron", "list", slug)).out == f"{slug} has no crons.\n"


def test_months_keep_their_day_or_take_the_last() -> None:
    january = datetime(2026, 1, 31, 12, 0)
    assert advance(january, "monthly") == datetime(2026, 2, 28, 12, 0)
    assert advance(datetime(2026, 12, 15), "monthly") == datetime(2027, 1, 15)
    assert advance(january, "weekly") == datetime(2026, 2, 7, 12, 0)
