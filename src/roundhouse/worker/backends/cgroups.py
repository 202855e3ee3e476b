"""Resource limits and whole-tree kill for one sandboxed job, with cgroup v1.

Each job gets a cgroup in the memory, pids, cpu and freezer controllers, named like its
directory and made under the worker's own cgroup. The job's first process joins it before it
execs the sandbox, so every process the job ever starts is inside: the limits apply to all of
them, and kill() also reaches daemons that left the job's process group and session.

Our worker machines mount these controllers as cgroup v1 (their cgroup2 holds only hugetlb);
a cgroup v2 variant (cgroup.kill, memory.max) is still to come.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

V1_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids", "cpu", "freezer")
CFS_PERIOD_US = 100_000
KILL_SECONDS = 1.0  # for freezing, then again for dying: kill() takes 2 s at most
POLL_SECONDS = 0.005


class CgroupsUnavailable(Exception):
    """The machine lacks a controller the sandbox needs; the message says which and why."""


@dataclass(frozen=True)
class Limits:
    memory_bytes: int
    cpus: float
    pids: int


def own_cgroups(proc_self_cgroup: str) -> dict[str, str]:
    """Controller → path of the calling process, from /proc/self/cgroup ("4:memory:/a/b")."""
    paths: dict[str, str] = {}
    for line in proc_self_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            if controller:
                paths[controller] = path
    return paths


def parent_dirs(root: Path = V1_ROOT) -> dict[str, Path]:
    """Where this worker's job cgroups go: its own cgroup in each controller it needs."""
    own = own_cgroups(Path("/proc/self/cgroup").read_text())
    if (root / "cgroup.controllers").exists():
        raise CgroupsUnavailable(
            "this machine has cgroup v2 only, and the sandbox supports cgroup v1 so far"
        )
    parents = {}
    for controller in CONTROLLERS:
        if controller not in own:
            raise CgroupsUnavailable(
                f"the cgroup v1 {controller} controller is not mounted (the sandbox needs "
                f"{', '.join(CONTROLLERS)} under {root})"
            )
        parent = root / controller / own[controller].lstrip("/")
        if not os.access(parent, os.W_OK):
            raise CgroupsUnavailable(f"{parent} is not writable; run the worker as root")
        parents[controller] = parent
    return parents


async def _until(done: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(POLL_SECONDS)
    return True


class JobCgroup:
    """One job's cgroup, a directory in each controller."""

    def __init__(self, dirs: dict[str, Path]) -> None:
        self.dirs = dirs

    @classmethod
    def named(cls, name: str, parents: dict[str, Path]) -> JobCgroup:
        return cls({controller: parent / name for controller, parent in parents.items()})

    def manifest(self) -> str:
        """The text from_manifest() reads back, so that a later worker finds these dirs."""
        return "".join(f"{controller} {path}\n" for controller, path in self.dirs.items())

    @classmethod
    def from_manifest(cls, text: str) -> JobCgroup:
        pairs = (line.split(" ", 1) for line in text.splitlines() if line.strip())
        return cls({controller: Path(path) for controller, path in pairs})

    def create(self, limits: Limits) -> None:
        for path in self.dirs.values():
            path.mkdir(exist_ok=True)
        memory = str(limits.memory_bytes)
        self._write("memory", "memory.limit_in_bytes", memory)
        # Without swap accounting the file is missing; with it, swap must not extend the limit.
        if (self.dirs["memory"] / "memory.memsw.limit_in_bytes").exists():
            self._write("memory", "memory.memsw.limit_in_bytes", memory)
        self._write("pids", "pids.max", str(limits.pids))
        self._write("cpu", "cpu.cfs_period_us", str(CFS_PERIOD_US))
        self._write("cpu", "cpu.cfs_quota_us", str(round(limits.cpus * CFS_PERIOD_US)))

    @property
    def procs_files(self) -> list[Path]:
        """A process joins the cgroup by writing its pid to each of these."""
        return [path / "cgroup.procs" for path in self.dirs.values()]

    def pids(self) -> list[int]:
        if "freezer" not in self.dirs:  # left by a worker killed before it made the cgroup
            return []
        try:
            text = (self.dirs["freezer"] / "cgroup.procs").read_text()
        except FileNotFoundError:
            return []
        return [int(pid) for pid in text.split()]

    def memory_exceeded(self) -> bool:
        """Whether the kernel killed a process of the job for going over the memory limit."""
        try:
            control = (self.dirs["memory"] / "memory.oom_control").read_text()
        except (KeyError, FileNotFoundError):
            return False
        counts = dict(line.split() for line in control.splitlines())
        return int(counts.get("oom_kill", "0")) > 0

    async def kill(self) -> None:
        """SIGKILL every process of the job, including ones forked while it happens."""
        if not self.pids():
            return
        # Frozen processes cannot fork, so a fork bomb cannot outrun the kill loop.
        self._write("freezer", "freezer.state", "FROZEN")
        await _until(lambda: self._freezer_state() != "FREEZING", KILL_SECONDS)
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._write("freezer", "freezer.state", "THAWED")  # SIGKILL takes effect on thaw
        if not await _until(lambda: not self.pids(), KILL_SECONDS):
            raise OSError(f"processes {self.pids()} of {self.dirs['freezer']} did not die")

    def remove(self) -> None:
        """Delete the directories; the cgroup must be empty (kill() first)."""
        for path in self.dirs.values():
            with contextlib.suppress(FileNotFoundError):
                path.rmdir()

    def _freezer_state(self) -> str:
        try:
            return (self.dirs["freezer"] / "freezer.state").read_text().strip()
        except FileNotFoundError:
            return "THAWED"

    def _write(self, controller: str, name: str, value: str) -> None:
        (self.dirs[controller] / name).write_text(value)
