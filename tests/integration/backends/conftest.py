"""Fixtures of the backend tests: a work directory the sandbox can reach, a bwrap backend,
and a way to run one job through the real Runner and read its state and log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from roundhouse.broker import Delivery
from roundhouse.broker.memory import MemoryBroker
from roundhouse.protocol import LOG_QUEUE, JobPayload
from roundhouse.settings import Settings
from roundhouse.worker.backends.base import Backend
from roundhouse.worker.backends.bwrap import BwrapBackend
from roundhouse.worker.runner import JobControl, Runner
from tests.conftest import wait_for
from tests.integration.backends.support import reachable_dir


@dataclass
class Outcome:
    state: str
    log: str


@pytest.fixture
def work_dir() -> Iterator[Path]:
    with reachable_dir() as path:
        yield path / "work"


@pytest.fixture
def make_bwrap(work_dir: Path) -> Callable[..., BwrapBackend]:
    def make(**overrides: Any) -> BwrapBackend:
        values: dict[str, Any] = {
            "backend": "bwrap",
            "data_dir": work_dir.parent / "data",
            "images": {"host": "host"},
            "sandbox_memory_mb": 256,
            "sandbox_pids": 128,
        }
        return BwrapBackend(Settings(**{**values, **overrides}))

    return make


@pytest.fixture
def bwrap(make_bwrap: Callable[..., BwrapBackend]) -> BwrapBackend:
    return make_bwrap()


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
