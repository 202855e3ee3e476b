"""Helpers of the backend tests: whether this machine can run bwrap, a work directory the
sandbox user can reach, payloads, the host processes of one job, and a way to run one job
through the worker's real Runner and read its state and log.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roundhouse.broker import Delivery
from roundhouse.broker.memory import MemoryBroker
from roundhouse.protocol import LOG_QUEUE, JobPayload
from roundhouse.script import compile_script
from roundhouse.script.local import local_payload
from roundhouse.settings import Settings, SettingsError
from roundhouse.worker.backends.base import Backend
from roundhouse.worker.backends.bwrap import BwrapBackend
from roundhouse.worker.runner import JobControl, Runner
from tests.conftest import wait_for

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
    # Unique, as the platform's leases are: cgroup names are machine-wide.
    data["lease"] = uuid.uuid4().hex
    data["script"] = script
    data.update(fields)
    return data


def compiled_job(config: dict[str, Any]) -> JobPayload:
    """A job whose script is compiled from a config, as the platform would; it clones nothing."""
    job = payload("")
    job["config"] = {"dist": "host", "language": "shell", "git": {"clone": False}, **config}
    job["script"] = compile_script(job)
    return job


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


@dataclass
class Outcome:
    state: str
    log: str


async def run_job(
    backend: Backend, work_dir: Path, payload: JobPayload, control: JobControl | None = None
) -> Outcome:
    """Run the job with the worker's Runner; its final state and whole log."""
    broker = MemoryBroker()
    parts: dict[int, dict[str, Any]] = {}

    async def collect(delivery: Delivery) -> None:
        parts[delivery.body["number"]] = delivery.body
        await delivery.ack()

    await broker.consume(LOG_QUEUE, collect, prefetch=100_000)
    runner = Runner(broker, backend, "test-worker", work_dir)
    state = await runner.run(payload, control or JobControl())

    async def final_part() -> bool:
        return any(part["final"] for part in parts.values())

    await wait_for(final_part, 5, "the last log part")
    return Outcome(state, "".join(parts[number]["content"] for number in sorted(parts)))
