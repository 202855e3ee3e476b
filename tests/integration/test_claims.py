"""Claims and leases in the hub, with a hand-driven worker: one claim per attempt wins, only
the lease holder's events count, a lost attempt's worker is told to drop it, and a worker
speaking another protocol version is told so and shown so.

The platform runs in-process with its local worker on another queue, so the jobs of
builds.default are ours to take by hand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from roundhouse.broker import Broker, Delivery
from roundhouse.protocol import (
    COMMAND_EXCHANGE,
    PROTOCOL_VERSION,
    STATE_QUEUE,
    WORKER_QUEUE,
)
from tests.conftest import GitRepo, Running, wait_for


class HandWorker:
    """Takes job payloads off builds.default and hears every command."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.payloads: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []

    async def start(self) -> None:
        await self.broker.consume("builds.default", self._take, prefetch=10)
        await self.broker.subscribe(COMMAND_EXCHANGE, self._hear)

    async def _take(self, delivery: Delivery) -> None:
        self.payloads.append(delivery.body)
        await delivery.ack()

    async def _hear(self, command: dict[str, Any]) -> None:
        self.commands.append(command)

    async def report(self, worker: str, payload: dict[str, Any], state: str) -> None:
        event = {
            "v": PROTOCOL_VERSION,
            "job_id": payload["job"]["id"],
            "attempt": payload["job"]["attempt"],
            "lease": payload["lease"],
            "state": state,
            "worker": worker,
            "at": datetime.now(UTC).isoformat(),
        }
        await self.broker.publish(STATE_QUEUE, event)

    async def verdict(self, worker: str, lease: str) -> dict[str, Any]:
        async def heard() -> dict[str, Any] | None:
            return next(
                (c for c in self.commands if c.get("worker") == worker and c.get("lease") == lease),
                None,
            )

        found: dict[str, Any] = await wait_for(heard, 30, f"a verdict for {worker}")
        return found


async def queued_job(
    start_system: Callable[..., Awaitable[Running]], git_repo: Callable[..., GitRepo]
) -> tuple[Running, HandWorker, dict[str, Any]]:
    """A platform whose one job is queued on builds.default, and its payload in our hands."""
    system = await start_system(queues=["builds.elsewhere"])
    hand = HandWorker(system.instance.services.ctx.broker)
    await hand.start()
    repo = git_repo()
    repo.commit({".travis.yml": "language: shell\nscript: true\n"})
    slug = (await system.add_repo(repo))["slug"]
    await system.build_of(slug, await system.trigger(slug))

    async def taken() -> bool:
        return bool(hand.payloads)

    await wait_for(taken, 20, "the job's payload")
    return system, hand, hand.payloads[0]


async def history(system: Running, job_id: int) -> list[tuple[int, str, str | None]]:
    job = await system.job(job_id)
    return [(h["attempt"], h["state"], h["worker"]) for h in job["history"]]


async def test_only_the_first_claim_wins_and_only_its_worker_s_events_count(
    start_system: Callable[..., Awaitable[Running]], git_repo: Callable[..., GitRepo]
) -> None:
    system, hand, payload = await queued_job(start_system, git_repo)
    job_id, lease = payload["job"]["id"], payload["lease"]

    await hand.report("first", payload, "received")
    assert (await hand.verdict("first", lease))["granted"] is True
    # A second copy of the message reached another worker (a republish, a redelivery).
    await hand.report("second", payload, "received")
    denied = await hand.verdict("second", lease)
    assert denied["granted"] is False and denied["reason"] == "worker first runs it"
    await hand.report("second", payload, "started")
    await hand.report("first", payload, "started")
    await hand.report("first", payload, "passed")

    async def passed() -> bool:
        return (await system.job(job_id))["state"] == "passed"

    await wait_for(passed, 30, "the job to pass")
    assert await history(system, job_id) == [
        (1, "created", None),
        (1, "queued", None),
        (1, "received", "first"),
        (1, "started", "first"),
        (1, "passed", "first"),
    ]


async def test_the_worker_of_a_lost_attempt_is_told_to_drop_it(
    start_system: Callable[..., Awaitable[Running]], git_repo: Callable[..., GitRepo]
) -> None:
    system, hand, payload = await queued_job(start_system, git_repo)
    job_id, lease = payload["job"]["id"], payload["lease"]
    await hand.report("slow", payload, "received")
    await hand.verdict("slow", lease)
    hub = system.instance.services.hub
    assert await hub.requeue(job_id, "the test says worker slow is lost")

    async def second_attempt() -> dict[str, Any] | None:
        return next((p for p in hand.payloads if p["job"]["attempt"] == 2), None)

    retry = await wait_for(second_attempt, 30, "attempt 2 to be published")
    assert retry["lease"] != lease
    hand.commands.clear()
    await hand.report("slow", payload, "passed")  # the lost worker comes back, too late
    told = await hand.verdict("slow", lease)
    assert told["granted"] is False
    assert told["reason"] == "attempt 1 is over; the platform runs attempt 2"
    job = await system.job(job_id)
    assert (job["state"], job["attempt"]) == ("queued", 2)
    log = await system.log(job_id)
    assert "Attempt 1 was lost: the test says worker slow is lost. This is attempt 2." in log


async def test_a_worker_speaking_another_protocol_is_told_and_listed_with_both_versions(
    system: Running,
) -> None:
    broker = system.instance.services.ctx.broker
    hand = HandWorker(broker)
    await hand.start()
    beat = {
        "v": 99,
        "name": "future-worker",
        "version": "9.0.0",
        "protocol": 99,
        "queues": ["builds.default"],
        "backend": "local",
        "capacity": 2,
        "busy": 0,
        "running": [],
        "leases": [],
        "at": datetime.now(UTC).isoformat(),
    }
    await broker.publish(WORKER_QUEUE, beat)

    async def listed() -> dict[str, Any] | None:
        workers = (await system.http.get("/api/workers")).json()["workers"]
        return next((w for w in workers if w["name"] == "future-worker"), None)

    worker = await wait_for(listed, 10, "the worker to be listed")
    expected = (
        "the worker speaks protocol version 99, and this platform (roundhouse 0.1.0) serves "
        f"version {PROTOCOL_VERSION}: upgrade the platform so that both run the same roundhouse"
    )
    assert worker["problem"] == expected
    notice = await wait_for(
        lambda: asyncio.sleep(0, [c for c in hand.commands if c.get("to") == "future-worker"]),
        10,
        "the worker to be told",
    )
    assert notice[0]["problem"] == expected
    queues = (await system.http.get("/api/queues")).json()["queues"]
    default = next(q for q in queues if q["name"] == "builds.default")
    assert "future-worker" not in default["workers"]


async def test_a_queued_job_whose_message_vanished_is_published_again(
    start_system: Callable[..., Awaitable[Running]], git_repo: Callable[..., GitRepo]
) -> None:
    system = await start_system(
        queues=["builds.elsewhere"], worker_lost_after=1, reconcile_interval=0.2
    )
    hand = HandWorker(system.instance.services.ctx.broker)
    await hand.start()  # takes the message and never claims: as if RabbitMQ lost it
    repo = git_repo()
    repo.commit({".travis.yml": "language: shell\nscript: true\n"})
    slug = (await system.add_repo(repo))["slug"]
    await system.build_of(slug, await system.trigger(slug))

    async def published_twice() -> bool:
        return len(hand.payloads) >= 2

    await wait_for(published_twice, 20, "the job to be published again")
    first, again = hand.payloads[:2]
    assert again["lease"] == first["lease"]  # the same attempt: only one claim on it can win
    assert (await system.job(first["job"]["id"]))["state"] == "queued"


async def test_a_worker_with_a_wrong_token_is_refused_its_claims(
    start_system: Callable[..., Awaitable[Running]], git_repo: Callable[..., GitRepo]
) -> None:
    """What keeps a worker that ignores the platform's word from running jobs anyway."""
    system, hand, payload = await queued_job(start_system, git_repo)
    beat = {
        "v": PROTOCOL_VERSION,
        "name": "impostor",
        "version": "0.1.0",
        "protocol": PROTOCOL_VERSION,
        "token": "rhw_not-the-token",
        "queues": ["builds.default"],
        "backend": "local",
        "capacity": 2,
        "busy": 0,
        "running": [],
        "leases": [],
        "at": datetime.now(UTC).isoformat(),
    }
    await system.instance.services.ctx.broker.publish(WORKER_QUEUE, beat)

    async def listed_with_a_problem() -> bool:
        workers = (await system.http.get("/api/workers")).json()["workers"]
        return any(w["name"] == "impostor" and w["problem"] for w in workers)

    await wait_for(listed_with_a_problem, 10, "the worker to be listed with its problem")
    await hand.report("impostor", payload, "received")

    refused = await hand.verdict("impostor", payload["lease"])
    assert refused["granted"] is False
    assert refused["reason"].startswith("the platform rejected this worker's token")
    assert (await system.job(payload["job"]["id"]))["state"] == "queued"
