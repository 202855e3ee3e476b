"""The whole path, for real: git repository → trigger → jobs run in bash → states and logs
in the API, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.conftest import GitRepo, Running, wait_for

TWO_JOBS = """\
language: shell
env:
  global:
    - GREETING=hello
  jobs:
    - FLAVOUR=vanilla
    - FLAVOUR=chocolate
script:
  - echo "$GREETING $FLAVOUR"
  - test -f README.md
"""


async def test_two_jobs_pass_with_logs_and_history(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    sha = repo.commit({".travis.yml": TWO_JOBS, "README.md": "hi\n"}, "Add the build")
    slug = (await system.add_repo(repo))["slug"]

    build_id = await system.build_of(slug, await system.trigger(slug))
    build = await system.finished_build(build_id)

    assert build["state"] == "passed"
    assert build["commit"]["sha"] == sha
    assert build["commit"]["message"] == "Add the build"
    assert [job["state"] for job in build["jobs"]] == ["passed", "passed"]
    assert [job["number"] for job in build["jobs"]] == [
        f"{build['number']}.1",
        f"{build['number']}.2",
    ]
    first_log, second_log = [await system.log(job["id"]) for job in build["jobs"]]
    assert "hello vanilla" in first_log
    assert "hello chocolate" in second_log
    assert 'The command "test -f README.md" exited with 0.' in second_log
    assert "Done. Your build exited with 0." in second_log

    job = await system.job(build["jobs"][0]["id"])
    assert [h["state"] for h in job["history"]] == [
        "created",
        "queued",
        "received",
        "started",
        "passed",
    ]
    times = [h["at"] for h in job["history"]]
    assert times == sorted(times)
    assert job["queued_at"] and job["received_at"] and job["started_at"] and job["finished_at"]


async def test_failing_script_fails_the_build(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit(
        {".travis.yml": "language: shell\nscript:\n  - echo before\n  - 'false'\n  - echo after\n"}
    )
    slug = (await system.add_repo(repo))["slug"]

    build = await system.finished_build(await system.build_of(slug, await system.trigger(slug)))

    assert build["state"] == "failed"
    log = await system.log(build["jobs"][0]["id"])
    assert 'The command "false" exited with 1.' in log
    assert "after" in log  # later script commands still run, as on Travis
    assert "Done. Your build exited with 1." in log


async def test_failing_install_errors_the_job(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit(
        {".travis.yml": "language: shell\ninstall: sh -c 'exit 3'\nscript: echo never-runs\n"}
    )
    slug = (await system.add_repo(repo))["slug"]

    build = await system.finished_build(await system.build_of(slug, await system.trigger(slug)))

    assert build["state"] == "errored"
    log = await system.log(build["jobs"][0]["id"])
    assert "The command \"sh -c 'exit 3'\" failed and exited with 3 during install." in log
    assert "$ echo never-runs" not in log


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


CHILDREN = """\
language: shell
script:
  - sleep 300 & echo "child=$!"; (sleep 301 & echo "child=$!"; wait) & echo "child=$!"; wait
"""


async def test_cancel_kills_the_job_and_its_children(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": CHILDREN})
    slug = (await system.add_repo(repo))["slug"]
    build_id = await system.build_of(slug, await system.trigger(slug))
    job_id = (await system.build(build_id))["jobs"][0]["id"]

    async def children() -> list[int]:
        pids = [
            int(line.split("=")[1])
            for line in (await system.log(job_id)).splitlines()
            if line.startswith("child=")
        ]
        return pids if len(pids) == 3 else []

    pids = await wait_for(children, 20, "the job to start its children")
    assert all(alive(pid) for pid in pids)

    started = time.monotonic()
    response = await system.http.post(f"/api/job/{job_id}/cancel")
    assert response.status_code == 202

    async def all_dead() -> bool:
        return not any(alive(pid) for pid in pids)

    await wait_for(all_dead, 2, "every process of the canceled job to be gone")
    assert time.monotonic() - started < 2
    job = await system.job(job_id)
    assert job["state"] == "canceled"
    build = await system.finished_build(build_id)
    assert build["state"] == "canceled"

    async def log_says_canceled() -> bool:
        return "Done: Job canceled" in await system.log(job_id)

    await wait_for(log_says_canceled, 5, "the log to end with the cancel line")


async def test_no_output_timeout_errors_the_job(
    start_system: Any, git_repo: Callable[..., GitRepo]
) -> None:
    system: Running = await start_system(log_timeout=1)
    repo = git_repo()
    repo.commit({".travis.yml": "language: shell\nscript:\n  - echo going quiet\n  - sleep 60\n"})
    slug = (await system.add_repo(repo))["slug"]

    build = await system.finished_build(
        await system.build_of(slug, await system.trigger(slug)), timeout=15
    )

    assert build["state"] == "errored"
    log = await system.log(build["jobs"][0]["id"])
    assert "No output has been received in the last 0m1s" in log
    assert "The build has been terminated" in log


async def test_a_repository_s_own_no_output_timeout_goes_before_the_instance_s(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": "language: shell\nscript:\n  - echo going quiet\n  - sleep 60\n"})
    slug = (await system.add_repo(repo))["slug"]
    changed = await system.http.patch(f"/api/repo/{slug}/settings", json={"log_timeout": 1})
    assert changed.json()["log_timeout"] == 1, changed.text

    build = await system.finished_build(
        await system.build_of(slug, await system.trigger(slug)), timeout=15
    )

    assert build["state"] == "errored"
    assert "No output has been received in the last 0m1s" in await system.log(
        build["jobs"][0]["id"]
    )
    cleared = await system.http.patch(f"/api/repo/{slug}/settings", json={"log_timeout": 0})
    assert cleared.json()["log_timeout"] is None  # the instance's setting again
    refused = await system.http.patch(f"/api/repo/{slug}/settings", json={"hard_timeout": -5})
    assert refused.status_code == 422


async def test_hard_timeout_errors_the_job(
    start_system: Any, git_repo: Callable[..., GitRepo]
) -> None:
    system: Running = await start_system(hard_timeout=1)
    repo = git_repo()
    repo.commit(
        {".travis.yml": "language: shell\nscript: while true; do echo tick; sleep 0.1; done\n"}
    )
    slug = (await system.add_repo(repo))["slug"]

    build = await system.finished_build(
        await system.build_of(slug, await system.trigger(slug)), timeout=15
    )

    assert build["state"] == "errored"
    assert "The job exceeded the maximum time limit for jobs" in await system.log(
        build["jobs"][0]["id"]
    )


async def test_poller_builds_a_new_commit(
    start_system: Any, git_repo: Callable[..., GitRepo]
) -> None:
    system: Running = await start_system(poll_interval=0.2)
    repo = git_repo()
    repo.commit({".travis.yml": "language: shell\nscript: echo polled\n"}, "first")
    slug = (await system.add_repo(repo))["slug"]
    new_sha = repo.commit({"file.txt": "change"}, "second")

    async def polled_build() -> dict[str, Any] | None:
        builds = (await system.http.get(f"/api/repo/{slug}/builds")).json()["builds"]
        return builds[0] if builds else None

    build = await wait_for(polled_build, 15, "the poller to request a build")
    assert build["commit"]["sha"] == new_sha
    assert build["event_type"] == "push"
    assert (await system.finished_build(build["id"]))["state"] == "passed"
    builds = (await system.http.get(f"/api/repo/{slug}/builds")).json()["builds"]
    assert len(builds) == 1  # the commit that was there when the repository was added is not built


async def test_request_without_travis_yml_is_recorded(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit({"README.md": "no config"})
    slug = (await system.add_repo(repo))["slug"]
    request_id = await system.trigger(slug)

    async def finished() -> dict[str, Any] | None:
        requests = (await system.http.get(f"/api/repo/{slug}/requests")).json()["requests"]
        request = next(r for r in requests if r["id"] == request_id)
        return request if request["state"] == "finished" else None

    request = await wait_for(finished, 10, "the request to be processed")
    assert request["result"] == "rejected"
    assert request["build_id"] is None
    assert "No .travis.yml found" in request["reason"]
    page = await system.http.get(f"/{slug}/requests")
    assert "No .travis.yml found" in page.text


async def test_broken_travis_yml_shows_the_error_on_the_build(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": "language: shell\nscript: [echo\n"})
    slug = (await system.add_repo(repo))["slug"]
    request_id = await system.trigger(slug)

    async def finished() -> dict[str, Any] | None:
        requests = (await system.http.get(f"/api/repo/{slug}/requests")).json()["requests"]
        request = next(r for r in requests if r["id"] == request_id)
        return request if request["state"] == "finished" else None

    request = await wait_for(finished, 10, "the request to be processed")
    assert request["result"] == "errored"
    assert "[error]" in request["reason"]
    if request["build_id"]:
        page = await system.http.get(f"/{slug}/builds/{request['build_id']}")
        assert "[error]" in page.text


async def test_later_jobs_of_a_commit_copy_the_worker_s_kept_checkout(
    start_system: Any, git_repo: Callable[..., GitRepo]
) -> None:
    # One slot: the jobs run one after the other on the same worker.
    system: Running = await start_system(pool_size=1)
    repo = git_repo()
    sha = repo.commit({".travis.yml": TWO_JOBS, "README.md": "hi\n"}, "Add the build")
    slug = (await system.add_repo(repo))["slug"]

    build = await system.finished_build(await system.build_of(slug, await system.trigger(slug)))

    assert [job["state"] for job in build["jobs"]] == ["passed", "passed"]
    first, second = [await system.log(job["id"]) for job in build["jobs"]]
    copied = "Copied from an earlier clone of the same commit on this worker."
    assert "Cloning into" in first and copied not in first
    assert copied in second and "Cloning into" not in second
    assert f"$ git checkout -qf {sha}" in second
