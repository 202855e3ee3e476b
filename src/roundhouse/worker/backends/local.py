"""The local backend: the job script runs as a bash process in its own session and process
group, in a fresh directory, on this machine. No isolation: for trusted code and laptops.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import signal
from pathlib import Path

from roundhouse.protocol import JobPayload
from roundhouse.worker.backends import cabundle, keptcheckouts
from roundhouse.worker.backends.base import Backend, CacheDirs, RunningJob
from roundhouse.worker.backends.pipereader import PipeReader

KILL_GRACE_SECONDS = 1.0
# A job's output pipe holds this much (the kernel's default is 64 KiB), so a script that prints
# fast runs on while the worker is busy storing what it already read.
PIPE_BYTES = 1024 * 1024
OUTPUT_LIMIT = 4 * 1024 * 1024
REMOVING = ".removing"  # suffix of a finished job's directory while it is deleted
# What the job sees of the worker's environment; the rest (tokens, settings) stays out.
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "USER", "LOGNAME", "TMPDIR", "SHELL")


def _session_of(pid: str) -> int | None:
    # The fields after "(comm)" are: state ppid pgrp session ...
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rsplit(b")", 1)[1].split()[3])
    except (OSError, IndexError, ValueError):
        return None


def session_members(sid: int) -> list[int]:
    """Processes of a session; a child that left the process group is still found here."""
    return [
        int(entry) for entry in os.listdir("/proc") if entry.isdigit() and _session_of(entry) == sid
    ]


def sessions_under(directory: Path) -> set[int]:
    """Sessions of jobs started in a directory under `directory`, found by the
    TRAVIS_BUILD_DIR each job process inherits: after a worker crash nothing else names them."""
    marker = f"TRAVIS_BUILD_DIR={directory.resolve()}/".encode()
    sessions = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as environ:
                variables = environ.read().split(b"\0")
        except OSError:
            continue
        if any(variable.startswith(marker) for variable in variables):
            sid = _session_of(entry)
            if sid is not None and sid != os.getsid(0):
                sessions.add(sid)
    return sessions


def signal_session(sid: int, signum: int) -> None:
    for pid in session_members(sid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def output_pipe() -> tuple[int, PipeReader]:
    """A pipe for a job's stdout and stderr: the end to give the job, and a reader of the other."""
    read_end, write_end = os.pipe()
    with contextlib.suppress(OSError):  # past /proc/sys/fs/pipe-max-size: keep the default
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    return write_end, PipeReader(read_end, OUTPUT_LIMIT)


class LocalJob(RunningJob):
    def __init__(
        self,
        process: asyncio.subprocess.Process,
        pipe: PipeReader,
        job_dir: Path,
        removals: set[asyncio.Task[None]],
    ) -> None:
        self.process = process
        self.pipe = pipe
        self.output = pipe.reader
        self.job_dir = job_dir
        self.removals = removals

    async def wait(self) -> int:
        return await self.process.wait()

    async def kill(self) -> None:
        sid = self.process.pid
        signal_session(sid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), KILL_GRACE_SECONDS)
        signal_session(sid, signal.SIGKILL)
        await self.process.wait()

    async def cleanup(self) -> None:
        # Background children of a finished script would keep writing into the directory.
        signal_session(self.process.pid, signal.SIGKILL)
        self.pipe.close()  # an escaped child may still hold it open
        # The job's final state waits for this: the directory leaves at once under a name
        # that still matches job-* (so a restarted worker removes it if this task could not),
        # and is deleted in the background.
        doomed = self.job_dir.with_name(f"{self.job_dir.name}{REMOVING}")
        try:
            self.job_dir.rename(doomed)
        except OSError:
            doomed = self.job_dir
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(_remove, doomed))
        self.removals.add(task)
        task.add_done_callback(self.removals.discard)


def _remove(job_dir: Path) -> None:
    shutil.rmtree(job_dir, True)
    keptcheckouts.prune(job_dir.parent / keptcheckouts.DIRECTORY)


class LocalBackend(Backend):
    name = "local"

    def __init__(self, ca_extra: str | None = None) -> None:
        self.ca_extra = ca_extra  # PEM certificates jobs trust besides the host's (cabundle.py)
        self.removals: set[asyncio.Task[None]] = set()  # job directories being deleted

    async def start(
        self, payload: JobPayload, work_dir: Path, cache: CacheDirs | None = None
    ) -> RunningJob:
        job = payload["job"]
        job_dir = work_dir / f"job-{job['id']}-{job['attempt']}-{payload['lease'][:8]}"
        job_dir.mkdir(parents=True, exist_ok=True)
        script = job_dir / "build.sh"
        script.write_text(payload["script"])
        env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
        resolved = job_dir.resolve()
        env["TRAVIS_BUILD_DIR"] = str(resolved / "build")
        env["ROUNDHOUSE_CHECKOUTS"] = str(keptcheckouts.directory(resolved.parent))
        if cache is not None:
            env["ROUNDHOUSE_CACHE_FETCHED"] = str(cache.fetched)
            env["ROUNDHOUSE_CACHE_STORE"] = str(cache.store)
        if self.ca_extra is not None:
            # The host's trust store is not the job's to change: variables point at a copy.
            ca_dir = job_dir / "ca"
            cabundle.write_files(ca_dir, cabundle.system_bundle(Path("/")), self.ca_extra)
            env.update(cabundle.environment(str(ca_dir)))
        write_end, pipe = output_pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                "bash",
                str(script),
                cwd=job_dir,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=write_end,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        except BaseException:
            pipe.close()
            raise
        finally:
            os.close(write_end)  # the job holds it now; EOF comes when the job's side closes
        return LocalJob(process, pipe, job_dir, self.removals)

    async def cleanup_leftovers(self, work_dir: Path) -> list[str]:
        # A killed worker's jobs run on (a deploy could run twice): their sessions go first.
        for sid in await asyncio.to_thread(sessions_under, work_dir):
            signal_session(sid, signal.SIGKILL)
        await asyncio.to_thread(keptcheckouts.prune, keptcheckouts.directory(work_dir))
        names = [path.name for path in work_dir.glob("job-*") if path.is_dir()]
        for name in names:
            await asyncio.to_thread(shutil.rmtree, work_dir / name, True)
        return names
