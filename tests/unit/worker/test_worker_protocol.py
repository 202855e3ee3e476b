"""A worker and a platform that do not speak the same protocol version: the worker says so
in its own log, with both versions, and takes no jobs instead of failing them."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from roundhouse.broker.memory import MemoryBroker
from roundhouse.protocol import COMMAND_EXCHANGE, PROTOCOL_VERSION
from roundhouse.worker.backends import LocalBackend
from roundhouse.worker.worker import Worker


async def started_worker(broker: MemoryBroker, tmp_path: Path) -> Worker:
    worker = Worker(
        broker,
        LocalBackend(),
        name="w1",
        queues=["builds.default"],
        pool_size=2,
        work_dir=tmp_path,
        heartbeat_interval=60,
    )
    await worker.start()
    return worker


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_job_in_another_protocol_version_stays_queued_and_the_log_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker = MemoryBroker()
    worker = await started_worker(broker, tmp_path)
    try:
        with caplog.at_level(logging.ERROR):
            await broker.publish("builds.default", {"v": PROTOCOL_VERSION + 1, "job": {}})
            await settle()
        assert worker.free_slots == 0
        assert (await broker.queue_info("builds.default")).depth == 1
        assert (
            f"the platform sends jobs in protocol version {PROTOCOL_VERSION + 1}, and this "
            f"worker (roundhouse 0.1.0) speaks version {PROTOCOL_VERSION}" in caplog.text
        )
    finally:
        await worker.stop()


async def test_the_platform_s_notice_stops_the_worker_taking_jobs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker = MemoryBroker()
    worker = await started_worker(broker, tmp_path)
    try:
        with caplog.at_level(logging.ERROR):
            await broker.broadcast(
                COMMAND_EXCHANGE, {"v": PROTOCOL_VERSION, "to": "w2", "problem": "not you"}
            )
            await settle()
            assert worker.free_slots == 2
            await broker.broadcast(
                COMMAND_EXCHANGE, {"v": PROTOCOL_VERSION, "to": "w1", "problem": "versions 3/2"}
            )
            await settle()
        assert worker.free_slots == 0
        assert "this worker takes no jobs: versions 3/2" in caplog.text
        assert worker.heartbeat()["protocol"] == PROTOCOL_VERSION
    finally:
        await worker.stop()
