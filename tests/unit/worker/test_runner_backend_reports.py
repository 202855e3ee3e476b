"""What the Runner makes of what a backend reports: a termination reason errors the job with
its log line, a job that cannot start errors at once; and the local backend's leftovers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from roundhouse.protocol import JobPayload
from roundhouse.script.local import local_payload
from roundhouse.worker.backends.base import Backend, CacheDirs, JobStartError, RunningJob
from roundhouse.worker.backends.local import LocalBackend, session_members, sessions_under
from tests.conftest import wait_for
from tests.integration.backends.support import alive, run_job
from tests.integration.backends.support import payload as job_running


class FinishedJob(RunningJob):
    """A job that printed one line and exited 0, and what its environment says of it."""

    def __init__(self, reason: str | None) -> None:
        self.output = asyncio.StreamReader()
        self.output.feed_data(b"working\n")
        self.output.feed_eof()
        self.reason = reason

    async def wait(self) -> int:
        return 0

    async def kill(self) -> None:
        return None

    async def cleanup(self) -> None:
        return None

    def termination_reason(self) -> str | None:
        return self.reason


class FakeBackend(Backend):
    name = "fake"

    def __init__(self, job: RunningJob | None = None, error: Exception | None = None) -> None:
        self.job, self.error = job, error

    async def start(
        self, payload: JobPayload, work_dir: Path, cache: CacheDirs | None = None
    ) -> RunningJob:
        if self.error is not None:
            raise self.error
        assert self.job is not None
        return self.job

    async def cleanup_leftovers(self, work_dir: Path) -> list[str]:
        return []


def payload() -> JobPayload:
    return local_payload({}, clone_url="")


async def test_termination_reason_errors_the_job(tmp_path: Path) -> None:
    backend = FakeBackend(FinishedJob("memory limit exceeded (64 MB)"))

    outcome = await run_job(backend, tmp_path, payload())

    assert outcome.state == "errored"
    assert "working\n" in outcome.log
    assert "memory limit exceeded (64 MB)." in outcome.log


async def test_no_reason_keeps_the_exit_code(tmp_path: Path) -> None:
    outcome = await run_job(FakeBackend(FinishedJob(None)), tmp_path, payload())

    assert outcome.state == "passed"


async def test_job_that_cannot_start_errors_with_the_reason(tmp_path: Path) -> None:
    backend = FakeBackend(error=JobStartError("This worker has no image 'noble'."))

    outcome = await run_job(backend, tmp_path, payload())

    assert outcome.state == "errored"
    assert "The job could not be started: This worker has no image 'noble'." in outcome.log


async def test_local_backend_removes_left_job_directories(tmp_path: Path) -> None:
    (tmp_path / "job-3-1-abcdef01" / "build").mkdir(parents=True)
    (tmp_path / "unrelated").mkdir()

    removed = await LocalBackend().cleanup_leftovers(tmp_path)

    assert removed == ["job-3-1-abcdef01"]
    # The checkouts kept for later jobs of a commit stay (keptcheckouts.py prunes them).
    assert sorted(path.name for path in tmp_path.iterdir()) == ["checkouts", "unrelated"]


async def test_local_backend_kills_the_processes_of_a_lost_worker_s_jobs(tmp_path: Path) -> None:
    """Its jobs, and what they started in sessions of their own, are found by their build dir."""
    script = "sleep 301 & setsid sleep 302 & echo started; wait"
    running = await LocalBackend().start(job_running(script), tmp_path)
    assert await asyncio.wait_for(running.output.readline(), 10) == b"started\n"

    async def job_processes() -> list[int]:
        # The output comes as soon as it is written, maybe before `setsid` has run.
        found = [pid for sid in sessions_under(tmp_path) for pid in session_members(sid)]
        return found if len(found) >= 3 else []  # bash and both sleeps

    pids = await wait_for(job_processes, 10, "bash and both sleeps")

    await LocalBackend().cleanup_leftovers(tmp_path)

    assert await asyncio.wait_for(running.wait(), 10) < 0  # killed by a signal
    await wait_for(lambda: none_alive(pids), 10, "the job's processes to end")

    async def nothing_left() -> bool:
        left = [path.name for path in tmp_path.iterdir() if path.name != "checkouts"]
        return sessions_under(tmp_path) == set() and left == []

    # On a loaded machine a killed process may linger an instant in /proc: a deadline, not a look.
    await wait_for(nothing_left, 10, "no session and no directory of the job left")


async def none_alive(pids: list[int]) -> bool:
    return not any(alive(pid) for pid in pids)
