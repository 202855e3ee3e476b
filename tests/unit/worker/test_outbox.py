"""The worker's outbox: order kept across memory and disk, broker outages waited out,
put() never blocking, a job's state events never travelling together, and a message sent
without waiting for the confirmations of those before it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from roundhouse.broker import BrokerUnavailable
from roundhouse.worker.outbox import Outbox


class FakeBroker:
    """Records what was published; refuses while `down`; tracks messages in flight."""

    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.up = asyncio.Event()
        self.up.set()
        self.refused = 0
        self.in_flight: list[dict[str, Any]] = []
        self.together: list[list[dict[str, Any]]] = []

    async def publish(self, queue: str, body: dict[str, Any]) -> None:
        if not self.up.is_set():
            self.refused += 1
            raise BrokerUnavailable("RabbitMQ is away")
        self.in_flight.append(body)
        self.together.append(list(self.in_flight))
        await asyncio.sleep(0)  # a confirmation takes a moment: others may be sent meanwhile
        self.in_flight.remove(body)
        self.published.append((queue, body))


def part(n: int, size: int = 10) -> dict[str, Any]:
    return {"job_id": 1, "number": n, "content": "x" * size}


async def test_messages_arrive_in_order_through_memory_and_disk(tmp_path: Path) -> None:
    broker = FakeBroker()
    broker.up.clear()
    outbox = Outbox(broker, tmp_path / "spill", memory_limit=2_000)
    outbox.start()
    try:
        for n in range(300):
            outbox.put("reporting.jobs.logs", part(n, 100))
        assert (tmp_path / "spill" / "outbox.jsonl").exists()  # past the limit: on disk
        broker.up.set()
        await asyncio.wait_for(outbox.drained(), 10)
    finally:
        await outbox.close()
    assert [body["number"] for _, body in broker.published] == list(range(300))
    assert not (tmp_path / "spill" / "outbox.jsonl").exists()


async def test_an_outage_is_waited_out_and_put_never_blocks(tmp_path: Path) -> None:
    broker = FakeBroker()
    outbox = Outbox(broker, tmp_path, memory_limit=1_000_000)
    outbox.start()
    try:
        await outbox.send("reporting.jobs.builds", {"job_id": 1, "state": "received"})
        broker.up.clear()
        started = asyncio.get_running_loop().time()
        sequence = [outbox.put("reporting.jobs.logs", part(n)) for n in range(50)]
        assert asyncio.get_running_loop().time() - started < 0.1
        final = outbox.put("reporting.jobs.builds", {"job_id": 1, "state": "passed"})
        delivered = asyncio.ensure_future(outbox.delivered(final))

        async def refused_some() -> None:
            while broker.refused < 3:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(refused_some(), 10)
        assert not delivered.done() and outbox.pending == 51
        broker.up.set()
        await asyncio.wait_for(delivered, 20)
    finally:
        await outbox.close()
    assert outbox.is_sent(sequence[-1])
    states = [body.get("state") or body["number"] for _, body in broker.published]
    assert states == ["received", *range(50), "passed"]


async def test_messages_with_one_order_key_never_travel_together(tmp_path: Path) -> None:
    broker = FakeBroker()

    def key(queue: str, body: dict[str, Any]) -> object:
        return body["job_id"] if queue == "reporting.jobs.builds" else None

    outbox = Outbox(broker, tmp_path, memory_limit=1_000_000, order_key=key)
    for job in (1, 2):
        for state in ("started", "passed"):
            outbox.put("reporting.jobs.builds", {"job_id": job, "state": state})
            outbox.put("reporting.jobs.logs", part(0))
    outbox.start()
    try:
        await asyncio.wait_for(outbox.drained(), 10)
    finally:
        await outbox.close()
    for batch in broker.together:
        jobs = [body["job_id"] for body in batch if "state" in body]
        assert len(jobs) == len(set(jobs)), batch
    states = [(body["job_id"], body["state"]) for _, body in broker.published if "state" in body]
    assert states == [(1, "started"), (1, "passed"), (2, "started"), (2, "passed")]


async def test_a_message_is_sent_while_earlier_ones_await_their_confirmation(
    tmp_path: Path,
) -> None:
    confirm = asyncio.Event()
    started: list[int] = []

    class SlowBroker:
        async def publish(self, queue: str, body: dict[str, Any]) -> None:
            started.append(body["number"])
            await confirm.wait()

    outbox = Outbox(SlowBroker(), tmp_path, memory_limit=1_000_000)
    outbox.start()
    try:
        first = outbox.put("reporting.jobs.logs", part(0))

        async def sent(count: int) -> None:
            while len(started) < count:
                await asyncio.sleep(0.001)

        await asyncio.wait_for(sent(1), 5)
        later = outbox.put("reporting.jobs.logs", part(1))
        await asyncio.wait_for(sent(2), 5)  # the first one is not confirmed yet
        assert not outbox.is_sent(first)
        confirm.set()
        await asyncio.wait_for(outbox.delivered(later), 5)
    finally:
        await outbox.close()
    assert started == [0, 1]
