"""A production installation: `roundhouse platform` and `roundhouse worker` processes on
PostgreSQL and RabbitMQ, and no lost job whatever happens to them (issue 4).

Each test starts its own processes on its own schema and vhost; RabbitMQ outages always end
with RabbitMQ started again (rabbitmq.stopped).
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Api, GitRepo, wait_for
from tests.integration.broker import rabbitmq
from tests.integration.support import sse_events
from tests.topology import Topology, workers_alive

FINISHED = {"passed", "failed", "errored", "canceled"}
ONE_ATTEMPT = ["created", "queued", "received", "started", "passed"]


def exists(path: Path) -> Callable[[], Any]:
    async def check() -> bool:
        return path.exists()

    return check


async def build_jobs(api: Api, slug: str, request_id: int) -> tuple[int, list[dict[str, Any]]]:
    build_id = await api.build_of(slug, request_id, timeout=60)
    return build_id, (await api.build(build_id))["jobs"]


async def live_lines(api: Api, job_id: int) -> list[str]:
    """The lines "line N" of a job's log as its live stream brings them, until the end."""
    text = ""
    async with api.http.stream("GET", f"/api/job/{job_id}/log/stream", timeout=60) as stream:
        async for event, data in sse_events(stream):
            if event == "end":
                break
            text += data["content"]
    return [line for line in text.splitlines() if line.startswith("line ")]


async def histories(api: Api, jobs: list[dict[str, Any]]) -> list[list[tuple[int, str]]]:
    found = []
    for job in jobs:
        detail = await api.job(job["id"])
        found.append([(h["attempt"], h["state"]) for h in detail["history"]])
    return found


@pytest.mark.slow
@pytest.mark.serial
async def test_rabbitmq_restarts_and_closed_connections_lose_nothing(
    topology: Topology, git_repo: Callable[..., GitRepo], vhost: str, tmp_path: Path
) -> None:
    go_on, counter = tmp_path / "go-on", tmp_path / "counter"
    repo = git_repo()
    loop = (
        f'i=0; while [ ! -e {go_on} ]; do i=$((i+1)); echo "line $i"; echo $i > {counter}; '
        f'sleep 0.01; done; echo "last line $i"'
    )
    repo.commit(
        {
            ".travis.yml": (
                "language: shell\nenv:\n  jobs: [N=1, N=2, N=3]\nscript:\n  - |\n"
                f'    if [ "$N" = 1 ]; then {loop}; else echo "job $N ran"; fi\n'
            )
        }
    )
    # A restart takes the worker up to its backoff cap (10 s) to notice: leases last longer.
    platform = topology.platform(worker_lost_after=25)
    topology.worker("worker-a", pool_size=1)
    async with topology.api(platform) as api:
        await wait_for(lambda: workers_alive(api, "worker-a"), 60, "the worker to beat")
        slug = (await api.add_repo(repo))["slug"]
        build_id, jobs = await build_jobs(api, slug, await api.trigger(slug))
        await wait_for(exists(counter), 60, "the first job to print")

        async with rabbitmq.stopped():
            # The job keeps running, and printing, with no broker at all.
            printed = int(counter.read_text() or 0)

            async def printing_on() -> bool:
                return int(counter.read_text() or 0) > printed + 50

            await wait_for(printing_on, 30, "the job to go on printing during the outage")
        go_on.touch()
        build = await api.finished_build(build_id, timeout=120)

        assert build["state"] == "passed", topology.logs()
        assert await histories(api, jobs) == [[(1, s) for s in ONE_ATTEMPT]] * 3
        log = await api.log(jobs[0]["id"])
        lines = [line for line in log.splitlines() if line.startswith("line ")]
        assert lines == [f"line {n}" for n in range(1, len(lines) + 1)]
        assert f"last line {len(lines)}" in log
        assert "job 2 ran" in await api.log(jobs[1]["id"])

        # RabbitMQ closes the worker's connection: it reconnects by itself, takes the next job.
        closed = rabbitmq.connections_named(vhost, "roundhouse worker worker-a")
        for connection in closed:
            rabbitmq.rabbitmqctl("close_connection", connection, "closed by a Roundhouse test")
        assert closed
        build = await api.finished_build(
            (await build_jobs(api, slug, await api.trigger(slug)))[0], timeout=60
        )
        assert build["state"] == "passed", topology.logs()
        assert {job["worker"] for job in build["jobs"]} == {"worker-a"}


@pytest.mark.slow
async def test_a_killed_worker_s_job_runs_on_another_and_an_unserved_queue_says_why(
    topology: Topology, git_repo: Callable[..., GitRepo], tmp_path: Path
) -> None:
    first, stop = tmp_path / "first-attempt", tmp_path / "stop"
    main = (
        f"if [ -e {first} ]; then echo second-attempt-ran; "
        f"else touch {first}; while [ ! -e {stop} ]; do sleep 0.05; done; fi"
    )
    repo = git_repo()
    repo.commit(
        {
            ".travis.yml": (
                "language: shell\njobs:\n  include:\n"
                f"    - script: '{main}'\n"
                "    - dist: xenial\n      script: echo the xenial job ran\n"
            )
        }
    )
    rules = json.dumps([{"dist": "xenial", "queue": "builds.xenial"}])
    platform = topology.platform(queue_rules=rules)
    worker_a = topology.worker("worker-a")
    try:
        async with topology.api(platform) as api:
            await wait_for(lambda: workers_alive(api, "worker-a"), 60, "worker-a to beat")
            slug = (await api.add_repo(repo))["slug"]
            build_id, (main_job, xenial_job) = await build_jobs(api, slug, await api.trigger(slug))

            async def waiting_reason() -> str | None:
                reason: str | None = (await api.job(xenial_job["id"]))["waiting_reason"]
                return reason

            reason = await wait_for(waiting_reason, 30, "the xenial job to say why it waits")
            assert reason == "no worker serves queue builds.xenial (workers serve: builds.default)"
            await wait_for(exists(first), 60, "the first attempt to start")
            worker_a.kill()

            topology.worker("worker-b", queues="builds.default,builds.xenial")
            build = await api.finished_build(build_id, timeout=90)
            page = (await api.http.get(f"/{slug}/jobs/{main_job['id']}")).text
    finally:
        stop.touch()  # the killed worker's script is an orphan now: let it end

    assert build["state"] == "passed", topology.logs()
    assert [(j["attempt"], j["worker"]) for j in build["jobs"]] == [
        (2, "worker-b"),
        (1, "worker-b"),
    ]
    async with topology.api(platform) as api:
        detail = await api.job(main_job["id"])
        log_text = await api.log(main_job["id"])
    assert "second-attempt-ran" in log_text
    assert "Attempt 1 was lost: worker worker-a did not renew its lease" in log_text
    assert [(a["attempt"], a["worker"], a["state"]) for a in detail["attempts"]] == [
        (1, "worker-a", "lost"),
        (2, "worker-b", "passed"),
    ]
    assert "Attempt 1" in page and "Attempt 2" in page and "worker-a" in page


@pytest.mark.slow
async def test_a_killed_platform_comes_back_and_the_build_completes(
    topology: Topology, git_repo: Callable[..., GitRepo], tmp_path: Path
) -> None:
    started, go_on, done = tmp_path / "started", tmp_path / "go-on", tmp_path / "done"
    repo = git_repo()
    repo.commit(
        {
            ".travis.yml": (
                "language: shell\njobs:\n  include:\n"
                f"    - stage: one\n      script: touch {started}; "
                f"while [ ! -e {go_on} ]; do sleep 0.05; done; touch {done}\n"
                "    - stage: two\n      script: echo stage two ran\n"
            )
        }
    )
    platform = topology.platform()
    worker = topology.worker("worker-a")
    async with topology.api(platform) as api:
        await wait_for(lambda: workers_alive(api, "worker-a"), 60, "the worker to beat")
        slug = (await api.add_repo(repo))["slug"]
        build_id, _ = await build_jobs(api, slug, await api.trigger(slug))
        await wait_for(exists(started), 60, "stage one to start")
    platform.kill()
    go_on.touch()
    # The job ends while no platform runs: its states and log wait in RabbitMQ.
    await wait_for(exists(done), 30, "stage one to end")
    platform.start()
    async with topology.api(platform) as api:
        build = await api.finished_build(build_id, timeout=90)
        assert build["state"] == "passed", topology.logs()
        assert "stage two ran" in await api.log(build["jobs"][1]["id"])
        assert await histories(api, build["jobs"]) == [[(1, s) for s in ONE_ATTEMPT]] * 2

        # SIGTERM drains: the running job finishes and is reported, then the worker exits.
        for flag in (started, go_on, done):
            flag.unlink()
        build_id, _ = await build_jobs(api, slug, await api.trigger(slug))
        await wait_for(exists(started), 60, "the next build's stage one to start")
        worker.signal(signal.SIGTERM)
        go_on.touch()
        assert await asyncio.to_thread(worker.wait, 60) == 0

        async def stage_one_passed() -> dict[str, Any] | None:
            build = await api.build(build_id)
            return build if build["jobs"][0]["state"] == "passed" else None

        build = await wait_for(stage_one_passed, 30, "the drained job's outcome")
        assert build["jobs"][1]["state"] in ("created", "queued")  # no worker left to run it

        # Ctrl-C twice stops the running job at once and gives it back: it runs again later.
        for flag in (started, go_on, done):
            flag.unlink()
        second = topology.worker("worker-b")
        await api.finished_build(build_id, timeout=60)  # its stage two, on worker-b
        build_id, jobs = await build_jobs(api, slug, await api.trigger(slug))
        await wait_for(exists(started), 60, "stage one on worker-b")
        second.signal(signal.SIGINT)

        async def draining() -> bool:
            return "draining:" in second.log

        # Two signals sent at once would arrive as one.
        await wait_for(draining, 30, "worker-b to take the first Ctrl-C")
        second.signal(signal.SIGINT)
        assert await asyncio.to_thread(second.wait, 60) == 0

        async def queued_again() -> bool:
            job = await api.job(jobs[0]["id"])
            return (job["attempt"], job["state"]) == (2, "queued")

        await wait_for(queued_again, 30, "the job to be queued again as attempt 2")
        assert "Attempt 1 was lost: worker worker-b was stopped before the job finished" in (
            await api.log(jobs[0]["id"])
        )


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_two_platforms_and_three_workers_run_200_jobs_exactly_once(
    topology: Topology, git_repo: Callable[..., GitRepo], tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    repo = git_repo()
    matrix = "".join(f"    - N={n}\n" for n in range(50))
    repo.commit(
        {
            ".travis.yml": (
                f"language: shell\ngit:\n  depth: 1\nenv:\n  jobs:\n{matrix}"
                f"script: echo $TRAVIS_JOB_ID >> {runs}/$TRAVIS_JOB_ID\n"
            )
        }
    )
    # Leases last longer than in the other tests: 200 jobs at once load this machine.
    platforms = [
        topology.platform("platform-1", worker_lost_after=15),
        topology.platform("platform-2", worker_lost_after=15),
    ]
    for name in ("worker-a", "worker-b", "worker-c"):
        topology.worker(name, pool_size=4)
    async with topology.api(platforms[0]) as first, topology.api(platforms[1]) as second:
        await wait_for(
            lambda: workers_alive(first, "worker-a", "worker-b", "worker-c"), 60, "workers"
        )
        # One process stores the log parts; readers of both see every line as it comes.
        printer = git_repo()
        printer.commit(
            {
                ".travis.yml": "language: shell\nscript: "
                "'for n in $(seq 1 100); do echo \"line $n\"; sleep 0.01; done'\n"
            }
        )
        printing = (await first.add_repo(printer))["slug"]
        _, (job, *_) = await build_jobs(first, printing, await first.trigger(printing))
        seen = await asyncio.gather(*(live_lines(api, job["id"]) for api in (first, second)))
        assert seen == [[f"line {n}" for n in range(1, 101)]] * 2

        slug = (await first.add_repo(repo))["slug"]
        requests = [await api.trigger(slug) for api in (first, second, first, second)]
        builds = [await first.build_of(slug, request_id, timeout=60) for request_id in requests]

        async def all_finished() -> list[dict[str, Any]] | None:
            found = [await second.build(build_id) for build_id in builds]
            return found if all(b["state"] in FINISHED for b in found) else None

        finished = await wait_for(all_finished, 150, "the four builds to finish", every=0.5)
        jobs = [job for build in finished for job in build["jobs"]]
        assert len(jobs) == 200
        assert {job["state"] for job in jobs} == {"passed"}, topology.logs()
        assert {job["attempt"] for job in jobs} == {1}
        assert sorted(path.name for path in runs.iterdir()) == sorted(str(j["id"]) for j in jobs)
        assert all(path.read_text() == f"{path.name}\n" for path in runs.iterdir())
        sample = jobs[::20]
        assert await histories(second, sample) == [[(1, s) for s in ONE_ATTEMPT]] * len(sample)
        assert len({job["worker"] for job in jobs}) == 3
