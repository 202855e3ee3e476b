"""Helpers of the sandbox backend tests: whether this machine can run them, a work directory
the sandbox user can reach, payloads, and the host processes of one job.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from roundhouse.protocol import JobPayload
from roundhouse.script.local import local_payload
from roundhouse.settings import Settings, SettingsError
from roundhouse.worker.backends.bwrap import BwrapBackend

_job_ids = itertools.count(1000)


def bwrap_unavailable() -> str | None:
    """Why the bwrap backend cannot run here (a skip reason), or None."""
    if os.geteuid() != 0:
        return "the bwrap backend needs root (it makes cgroups and drops to the sandbox uid)"
    try:
        BwrapBackend(Settings(backend="bwrap"))
    except SettingsError as error:
        return str(error)
    return None


@contextmanager
def reachable_dir() -> Iterator[Path]:
    """A temporary directory the sandbox user can enter (pytest's tmp_path is root-only)."""
    path = Path(tempfile.mkdtemp(prefix="roundhouse-test-"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def payload(script: str, **fields: Any) -> JobPayload:
    """A job of the host image with its own id; fields replace the payload's."""
    job_id = next(_job_ids)
    data = local_payload({"dist": "host"}, clone_url="", job_index=job_id)
    data["script"] = script
    data.update(fields)
    return data


def alive(pid: int) -> bool:
    """Whether the process runs; a zombie is dead (whoever adopted it reaps it late)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def processes_of(place_name: str) -> list[int]:
    """Host pids of every live process in the job's cgroups, found through /proc."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cgroups = Path(f"/proc/{entry}/cgroup").read_text()
        except OSError:
            continue
        if f"/{place_name}\n" in cgroups and alive(int(entry)):
            pids.append(int(entry))
    return pids
