"""`roundhouse doctor` on a platform: each check made to fail for real (unserved queue, wrong
worker token, stale heartbeat, stuck job, old migration, unreachable database) and read."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from alembic import command

from roundhouse.db.models import User, utcnow
from roundhouse.db.session import alembic_config, head_revision
from roundhouse.ops.doctor.check import Check
from roundhouse.ops.doctor.jobs import StuckJob, find_stuck, stuck_check
from roundhouse.ops.doctor.platform_side import run_platform_checks
from roundhouse.platform.stuck import fix_stuck
from roundhouse.platform.workertoken import worker_token
from roundhouse.protocol import TOKEN_REJECTED
from roundhouse.settings import Settings
from roundhouse.worker.backends import LocalBackend
from roundhouse.worker.worker import Worker
from tests.conftest import GitRepo, Running, free_port, wait_for
from tests.integration.doctor.support import by_name, queued_job

ROUNDHOUSE = Path(sys.executable).with_name("roundhouse")


async def checks_of(system: Running) -> list[Check]:
    ctx = system.instance.services.ctx
    return await run_platform_checks(ctx.settings, sessions=ctx.sessions, broker=ctx.broker)


async def test_jobs_in_a_queue_no_worker_serves_are_named_with_the_queues_workers_do_serve(
    start_system: Callable[..., Awaitable[Running]], git_repo: Callable[..., GitRepo]
) -> None:
    system = await start_system(queues=["builds.other"], heartbeat_interval=0.5)

    async def local_worker_alive() -> bool:
        workers = (await system.http.get("/api/workers")).json()["workers"]
        return any(w["alive"] for w in workers)

    await wait_for(local_worker_alive, 20, "the local worker's heartbeat")
    await queued_job(system, git_repo)

    unserved = by_name(await checks_of(system), "queue builds.default")
    assert unserved.status == "FAIL"
    assert unserved.saw == (
        "1 job waits in queue builds.default and no worker serves it (connected workers "
        "serve: builds.other); the broker holds 1 message, 0 consumers"
    )
    assert unserved.fix == (
        "start a worker with builds.default in its queues (ROUNDHOUSE_QUEUES), or route these "
        "jobs to a served queue with default_queue or queue_rules"
    )

    # The same for the admin dashboard, and from the command line (exit 1).
    answer = (await system.http.get("/api/doctor")).json()
    assert unserved.as_dict() in answer["checks"]
    settings = system.instance.services.ctx.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDHOUSE_")}
    env |= {
        "ROUNDHOUSE_DATA_DIR": str(settings.data_dir),
        "ROUNDHOUSE_DATABASE_URL": settings.database_url,
        "ROUNDHOUSE_HEARTBEAT_INTERVAL": "0.5",
    }
    process = await asyncio.create_subprocess_exec(
        str(ROUNDHOUSE), "doctor", "--json", env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 1
    report = json.loads(out)
    assert report["ok"] is False
    cli = next(c for c in report["checks"] if c["name"] == "queue builds.default")
    assert cli["saw"].startswith(
        "1 job waits in queue builds.default and no worker serves it (connected workers "
        "serve: builds.other)"
    )


async def test_a_worker_with_a_wrong_token_is_refused_and_a_silent_one_is_late(
    start_system: Callable[..., Awaitable[Running]], tmp_path: Path
) -> None:
    system = await start_system(heartbeat_interval=0.5, worker_lost_after=2)
    broker = system.instance.services.ctx.broker
    settings = system.instance.services.ctx.settings

    def worker(name: str, token: str) -> Worker:
        return Worker(
            broker,
            LocalBackend(),
            name=name,
            queues=["builds.default"],
            pool_size=1,
            work_dir=tmp_path / name,
            heartbeat_interval=0.5,
            token=token,
        )

    intruder, short_lived = (
        worker("intruder", "rhw_wrong"),
        worker("short-lived", worker_token(settings)),
    )
    await intruder.start()
    await short_lived.start()
    try:
        await wait_for(lambda: asyncio.sleep(0, intruder.problem), 20, "the intruder to be told")
        assert intruder.problem == TOKEN_REJECTED
        assert short_lived.problem is None
        refused = by_name(await checks_of(system), "worker intruder")
        assert refused.status == "FAIL"
        assert refused.saw == (
            "worker intruder: the platform rejected this worker's token: copy it from "
            "`roundhouse workers token` on the platform"
        )
        assert refused.fix.startswith("run `roundhouse workers token` here and set TOKEN=")
    finally:
        await intruder.stop()
    await short_lived.stop()

    async def late() -> object:
        checks = await checks_of(system)
        return next((c for c in checks if c.name == "worker short-lived"), None)

    silent = await wait_for(late, 20, "the stopped worker to be late")
    assert silent.status == "warn"
    assert silent.saw.startswith("worker short-lived sent its last heartbeat ")
    assert silent.saw.endswith("(expected every 0.5 s; lost after 2 s)")

    # The token workers need, for administrators, and the check a worker's doctor makes.
    assert (await system.http.get("/api/workers/token")).json() == {"token": worker_token(settings)}
    hello = await system.http.get(
        "/api/workers/hello", headers={"Authorization": f"token {worker_token(settings)}"}
    )
    assert hello.json() == {"accepted": True, "protocols": [2], "routed_queues": ["builds.default"]}
    wrong = await system.http.get("/api/workers/hello", headers={"Authorization": "token nope"})
    assert (wrong.status_code, wrong.json()["error"]) == (401, TOKEN_REJECTED)


async def test_a_job_queued_past_its_timeout_is_stuck_and_can_be_published_again_or_errored(
    start_system: Callable[..., Awaitable[Running]], git_repo: Callable[..., GitRepo]
) -> None:
    system = await start_system(queues=["builds.other"], hard_timeout=1)
    services = system.instance.services
    settings = services.ctx.settings
    job = await queued_job(system, git_repo)

    async def stuck() -> list[StuckJob]:
        return await find_stuck(services.ctx.sessions, settings, grace=timedelta(0))

    found = await wait_for(stuck, 20, "the job to be past its timeout", every=0.2)
    assert [(s.id, s.state, s.queue) for s in found] == [(job["id"], "queued", "builds.default")]
    check = stuck_check(found, settings, grace=timedelta(0))
    assert check.status == "warn"
    assert check.saw.startswith(f"1 job past hard_timeout 0 min + 0 min: job {job['id']} (")
    assert f"#{job['number']}) queued for 0 min" in check.saw

    assert await fix_stuck(services.hub, found, "requeue") == [
        f"job {job['id']} ({found[0].slug} #{job['number']}) published again"
    ]
    assert (await services.ctx.broker.queue_info("builds.default")).depth == 2
    assert await fix_stuck(services.hub, found, "error") == [
        f"job {job['id']} ({found[0].slug} #{job['number']}) errored"
    ]
    assert (await system.job(job["id"]))["state"] == "errored"
    assert "it was queued for too long" in await system.log(job["id"])
    assert await stuck() == []

    growth = by_name(await checks_of(system), "log storage")
    assert growth.status == "ok"
    assert "were added in the last 7 days" in growth.saw


async def test_a_database_at_an_old_migration_or_unreachable_fails_first(
    postgres_url: str, tmp_path: Path
) -> None:
    command.upgrade(alembic_config(postgres_url), "0003")
    settings = Settings(data_dir=tmp_path, database_url=postgres_url)
    checks = await run_platform_checks(settings)
    database = by_name(checks, "database")
    assert database.status == "FAIL"
    assert database.saw.endswith(f"is at migration 0003; this version needs {head_revision()}")
    assert database.fix.startswith("restart the platform, which migrates at start")
    assert not [c for c in checks if c.name.startswith(("queue", "stuck", "heartbeats"))]

    port = free_port()
    gone = Settings(
        data_dir=tmp_path, database_url=f"postgresql+psycopg://rh:secret@127.0.0.1:{port}/rh"
    )
    unreachable = by_name(await run_platform_checks(gone), "database")
    assert unreachable.status == "FAIL"
    assert unreachable.saw.startswith(
        f"the database at postgresql+psycopg://rh:***@127.0.0.1:{port}/rh does not answer: "
    )


async def test_a_user_left_syncing_past_the_lease_is_named(
    start_system: Callable[..., Awaitable[Running]],
) -> None:
    system = await start_system()
    ctx = system.instance.services.ctx
    assert by_name(await checks_of(system), "user syncs").status == "ok"
    async with ctx.sessions() as session, session.begin():
        # A sync that crashed an hour ago, while no reconciler ran to free its lease.
        session.add(
            User(
                login="stuck-sync",
                sync_started_at=utcnow() - timedelta(hours=1),
                sync_lease_expires_at=utcnow() - timedelta(minutes=50),
            )
        )

    found = by_name(await checks_of(system), "user syncs")

    assert (found.status, found.saw) == (
        "warn",
        "1 user still marked syncing past the lease: stuck-sync",
    )
    assert "roundhouse users reset-sync" in found.fix
