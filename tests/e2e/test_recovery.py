"""Nothing is lost: a `roundhouse up` killed mid-job runs the job again when it comes back,
and a job no worker can take says why it waits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import GitRepo, Running, free_port, wait_for

ROUNDHOUSE = Path(sys.executable).with_name("roundhouse")


class Up:
    """`roundhouse up` as its own process, so that it can be killed with SIGKILL."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir, self.port = data_dir, port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDHOUSE_")}
        env["ROUNDHOUSE_POLL_INTERVAL"] = "3600"
        command = [
            str(ROUNDHOUSE),
            "up",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
        ]
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    async def client(self) -> httpx.AsyncClient:
        async def ready() -> bool:
            try:
                async with httpx.AsyncClient() as probe:
                    return (await probe.get(f"{self.url}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await wait_for(ready, 30, "roundhouse up to answer")
        token = (self.data_dir / "admin-token").read_text().strip()
        return httpx.AsyncClient(
            base_url=self.url, headers={"Authorization": f"token {token}"}, timeout=30
        )


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    instance = Up(tmp_path / "data", free_port())
    try:
        yield instance
    finally:
        instance.stop()


async def get(http: httpx.AsyncClient, path: str) -> Any:
    response = await http.get(path)
    assert response.status_code == 200, response.text
    return response.json()


async def test_killed_up_runs_the_interrupted_job_again_after_restart(
    up: Up, git_repo: Callable[..., GitRepo], tmp_path: Path
) -> None:
    first, stop = tmp_path / "first-attempt", tmp_path / "stop"
    repo = git_repo()
    script = (
        f"if [ -e {first} ]; then echo second-attempt-ran; "
        f"else touch {first}; while [ ! -e {stop} ]; do sleep 0.05; done; fi"
    )
    repo.commit({".travis.yml": f"language: shell\nscript:\n  - '{script}'\n"})
    up.start()
    try:
        async with await up.client() as http:
            slug = (await http.post("/api/repos", json={"url": repo.url})).json()["slug"]
            body = {"request": {"branch": "main"}}
            request_id = (await http.post(f"/api/repo/{slug}/requests", json=body)).json()[
                "request"
            ]["id"]

            async def first_attempt_running() -> bool:
                return first.exists()

            await wait_for(first_attempt_running, 30, "the first attempt to start")
            up.kill()
    finally:
        stop.touch()  # the killed worker's script is an orphan now: let it end

    up.start()
    async with await up.client() as http:

        async def build_passed() -> dict[str, Any] | None:
            requests = (await get(http, f"/api/repo/{slug}/requests"))["requests"]
            build_id = next(r["build_id"] for r in requests if r["id"] == request_id)
            build = await get(http, f"/api/build/{build_id}")
            return build if build["state"] == "passed" else None

        build = await wait_for(build_passed, 30, "the build to pass after the restart")
        job = await get(http, f"/api/job/{build['jobs'][0]['id']}")
        log = (await http.get(f"/api/job/{job['id']}/log.txt")).text

    assert job["attempt"] == 2
    assert "Attempt 1 was lost: the platform and its local worker were restarted" in log
    assert "second-attempt-ran" in log
    states = [(step["attempt"], step["state"]) for step in job["history"]]
    # The kill may come before the hub stored attempt 1's "started": its history ends there.
    assert states[:3] == [(1, "created"), (1, "queued"), (1, "received")]
    assert (2, "created") in states
    assert states[-2:] == [(2, "started"), (2, "passed")]
    assert log.count("second-attempt-ran\n") == 1  # it ran once, not twice


async def test_job_for_a_queue_no_worker_serves_says_why_it_waits(
    start_system: Callable[..., Awaitable[Running]], git_repo: Callable[..., GitRepo]
) -> None:
    system = await start_system(queue_rules=[{"dist": "xenial", "queue": "builds.xenial"}])
    repo = git_repo()
    repo.commit({".travis.yml": "language: shell\ndist: xenial\nscript: true\n"})
    slug = (await system.add_repo(repo))["slug"]
    build_id = await system.build_of(slug, await system.trigger(slug))
    job_id = (await system.build(build_id))["jobs"][0]["id"]

    async def waiting_reason() -> str | None:
        reason: str | None = (await system.job(job_id))["waiting_reason"]
        return reason

    reason = await wait_for(waiting_reason, 15, "the job to say why it waits")

    assert reason == "no worker serves queue builds.xenial (workers serve: builds.default)"
    page = await system.http.get(f"/{slug}/builds/{build_id}")
    assert "no worker serves queue builds.xenial" in page.text
    assert (await system.job(job_id))["state"] == "queued"
