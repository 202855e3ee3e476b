"""Out-of-memory kills in a container, seen from the host, for engines that do not report them.

Docker marks a container `OOMKilled` when the kernel killed any of its processes for memory;
podman 4.3 (Debian 12's, on cgroup v1) never does, not even when the main process died of it.
When the engine runs on this machine, the worker therefore reads the container's memory
cgroup itself: the kernel counts the kills there (`oom_kill` in memory.oom_control on cgroup
v1, in memory.events on v2). The cgroup vanishes with the container's last process, so a
thread reads the counter while the job runs: every 50 ms, and at once when the kernel signals
an out-of-memory event (cgroup v1 event control, an eventfd).
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
POLL_SECONDS = 0.05


def memory_counter_file(pid: int, container_id: str) -> Path | None:
    """The file that counts the OOM kills of the container whose process pid is, if local.

    A remote engine's pid may be any process here: only a cgroup named after the container
    counts.
    """
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if container_id not in path:
            continue
        if "memory" in controllers.split(","):
            candidate = CGROUP_ROOT / "memory" / path.lstrip("/") / "memory.oom_control"
        elif controllers == "":
            candidate = CGROUP_ROOT / path.lstrip("/") / "memory.events"
        else:
            continue
        if candidate.is_file():
            return candidate
    return None


def oom_kills(fd: int) -> int:
    """The `oom_kill N` count of an open memory.oom_control or memory.events file."""
    for line in os.pread(fd, 4096, 0).decode().splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill":
            return int(value)
    return 0


class OomWatch:
    """Counts the OOM kills of one container's cgroup until it is gone or stop() is called."""

    def __init__(self, counter_file: Path) -> None:
        self.kills = 0
        self._stop = threading.Event()
        self._fd = os.open(counter_file, os.O_RDONLY | os.O_CLOEXEC)
        self._wake = self._register_event(counter_file)
        self._thread = threading.Thread(target=self._run, name="oom-watch", daemon=True)
        self._thread.start()

    def _register_event(self, counter_file: Path) -> int | None:
        """cgroup v1: an eventfd the kernel signals on each OOM event of the cgroup."""
        control = counter_file.parent / "cgroup.event_control"
        if counter_file.name != "memory.oom_control" or not control.exists():
            return None
        wake = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        try:
            control.write_text(f"{wake} {self._fd}")
        except OSError:
            os.close(wake)
            return None
        return wake

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.kills = max(self.kills, oom_kills(self._fd))
                if self._wake is None:
                    self._stop.wait(POLL_SECONDS)
                    continue
                ready, _, _ = select.select([self._wake], [], [], POLL_SECONDS)
                if ready:
                    with contextlib.suppress(BlockingIOError):
                        os.eventfd_read(self._wake)
        except OSError:
            pass  # ENODEV: the cgroup is gone with the container's last process
        finally:
            for fd in (self._fd, self._wake):
                if fd is not None:
                    os.close(fd)

    def stop(self) -> int:
        """End the watch (within 50 ms) and return the kills it saw."""
        self._stop.set()
        self._thread.join()
        return self.kills


def watch(pid: int, container_id: str) -> OomWatch | None:
    """A watch of the container's memory cgroup, or None when it is not on this machine."""
    counter_file = memory_counter_file(pid, container_id)
    if counter_file is None:
        return None
    try:
        return OomWatch(counter_file)
    except OSError:
        return None
