"""Runs one job attempt: start the script in a backend, stream its output, enforce the hard
and no-output timeouts, obey cancel, and decide the final state from the exit code.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from roundhouse import __version__
from roundhouse.protocol import JobPayload
from roundhouse.worker import cache, workdir
from roundhouse.worker.backends.base import Backend, CacheDirs, JobStartError, RunningJob
from roundhouse.worker.logwriter import LogLimitExceeded, LogWriter
from roundhouse.worker.outbox import Publisher

READ_SIZE = 1024 * 1024  # as much as the pipe holds: fewer, larger reads
# After the script exits, output still in the pipe is read for this long; background
# children that keep the pipe open are then killed.
DRAIN_SECONDS = 0.2
RED, YELLOW, RESET = "\033[31;1m", "\033[33;1m", "\033[0m"


@dataclass
class JobControl:
    """How the worker reaches a running job from outside (cancel command, shutdown)."""

    canceled: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str = "Job canceled"


def state_for_exit_code(code: int) -> str:
    return {0: "passed", 1: "failed"}.get(code, "errored")


def fold(name: str, lines: list[str]) -> str:
    body = "".join(f"{line}\n" for line in lines)
    return f"travis_fold:start:{name}\r\033[0K{body}travis_fold:end:{name}\r\033[0K"


def silence_message(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return (
        f"\n{RED}No output has been received in the last {minutes}m{rest}s, this potentially "
        "indicates a stalled build or something wrong with the build itself.\n"
        "Check the details on how to adjust your build configuration on: "
        "docs/travis-yml.md#timeouts\n\nThe build has been terminated"
        f"{RESET}\n"
    )


class Runner:
    def __init__(
        self, broker: Publisher, backend: Backend, worker_name: str, work_dir: Path
    ) -> None:
        self.broker = broker
        self.backend = backend
        self.worker_name = worker_name
        self.work_dir = work_dir
        workdir.prepare(work_dir)
        # Before this runner's first job: what jobs of a killed worker left is stale.
        cache.remove_leftovers(work_dir)

    async def run(self, payload: JobPayload, control: JobControl) -> str:
        """Run the attempt to its end and return its final state; the log is complete then."""
        job = payload["job"]
        log = LogWriter(
            self.broker, job["id"], job["attempt"], payload["secrets"], payload["max_log_bytes"]
        )
        log.write(
            fold(
                "worker_info",
                [
                    "Worker information",
                    f"hostname: {self.worker_name}",
                    f"version: roundhouse {__version__}",
                    f"backend: {self.backend.name}",
                    f"queue: {payload['queue']}",
                ],
            )
        )
        try:
            state = await self._execute(payload, control, log)
        finally:
            await log.close()
        return state

    async def _execute(self, payload: JobPayload, control: JobControl, log: LogWriter) -> str:
        if control.canceled.is_set():
            log.write(f"\n{YELLOW}Done: {control.reason}{RESET}\n")
            return "canceled"
        # The build cache comes from the platform before the job and goes back after it.
        job_cache = cache.JobCache(payload, self.work_dir, log)
        try:
            await job_cache.fetch()
            state = await self._run_backend(payload, control, log, job_cache.dirs)
            await job_cache.store(state)
        finally:
            await job_cache.remove()
        return state

    async def _run_backend(
        self, payload: JobPayload, control: JobControl, log: LogWriter, cache_dirs: CacheDirs | None
    ) -> str:
        try:
            running = await self.backend.start(payload, self.work_dir, cache_dirs)
        except (OSError, JobStartError) as error:
            log.write(f"\n{RED}The job could not be started: {error}{RESET}\n")
            return "errored"
        try:
            outcome = await self._stream(running, payload, control, log)
        finally:
            await running.cleanup()
        return outcome

    async def _stream(
        self, running: RunningJob, payload: JobPayload, control: JobControl, log: LogWriter
    ) -> str:
        timeouts = payload["timeouts"]
        deadline = time.monotonic() + timeouts["hard_limit"]
        silence = timeouts["log_silence"]
        exited = asyncio.ensure_future(running.wait())
        canceled = asyncio.ensure_future(control.canceled.wait())
        read = asyncio.ensure_future(running.output.read(READ_SIZE))
        try:
            while True:
                wait_for = max(min(silence, deadline - time.monotonic()), 0)
                done, _ = await asyncio.wait(
                    {read, canceled, exited}, timeout=wait_for, return_when=asyncio.FIRST_COMPLETED
                )
                if read in done:
                    data = read.result()
                    if not data:
                        break
                    if not self._write(log, data):
                        await running.kill()
                        return "errored"
                    read = asyncio.ensure_future(running.output.read(READ_SIZE))
                    continue
                if exited in done:
                    # Background children may hold the pipe open: take what comes soon, then stop.
                    await self._drain(running, log, read)
                    break
                await running.kill()
                return self._interrupted(canceled in done, deadline, silence, control, log)
            code = await exited
        finally:
            canceled.cancel()
            read.cancel()
        reason = running.termination_reason()
        if reason:
            log.write(f"\n{RED}The job was errored by its environment: {reason}.{RESET}\n")
            return "errored"
        return state_for_exit_code(code)

    @staticmethod
    def _write(log: LogWriter, data: bytes) -> bool:
        try:
            log.write_bytes(data)
        except LogLimitExceeded:
            log.write(
                f"\n{RED}The job exceeded the maximum log length, and has been terminated.{RESET}\n"
            )
            return False
        return True

    async def _drain(
        self, running: RunningJob, log: LogWriter, read: asyncio.Future[bytes]
    ) -> None:
        try:
            while True:
                done, _ = await asyncio.wait({read}, timeout=DRAIN_SECONDS)
                if read not in done or not read.result():
                    return
                if not self._write(log, read.result()):
                    return
                read = asyncio.ensure_future(running.output.read(READ_SIZE))
        finally:
            read.cancel()  # the caller cancels only the read it started

    @staticmethod
    def _interrupted(
        by_cancel: bool, deadline: float, silence: int, control: JobControl, log: LogWriter
    ) -> str:
        if by_cancel:
            log.write(f"\n{YELLOW}Done: {control.reason}{RESET}\n")
            return "canceled"
        if time.monotonic() >= deadline:
            log.write(
                f"\n{RED}The job exceeded the maximum time limit for jobs, "
                f"and has been terminated.{RESET}\n"
            )
        else:
            log.write(silence_message(silence))
        return "errored"
