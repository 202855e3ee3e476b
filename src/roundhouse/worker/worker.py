"""The worker loop: take jobs from its queues while it has free slots, claim each attempt
before running it, report every state, heartbeat the leases it holds, obey commands.

The life of one attempt here: the delivery arrives → `received` (the claim, naming the
attempt's lease) is confirmed by the broker → the delivery is acknowledged → the hub's
verdict arrives on worker.commands → granted: `started`, the run, the final state; denied
(another worker has it, or the platform moved on): dropped without a word. Until the final
state is confirmed the attempt stays in the heartbeats, whose lease list keeps it ours.

Everything the worker tells the platform goes through the outbox (outbox.py), in order and
across broker outages; only heartbeats go direct, since a late heartbeat is worth nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from roundhouse import __version__
from roundhouse.broker import Broker, Delivery, Subscription
from roundhouse.protocol import (
    COMMAND_EXCHANGE,
    HEARTBEAT_SECONDS,
    PROTOCOL_VERSION,
    STATE_QUEUE,
    WORKER_QUEUE,
    HeldLease,
    JobPayload,
)
from roundhouse.worker.backends.base import Backend
from roundhouse.worker.outbox import Outbox
from roundhouse.worker.runner import JobControl, Runner

log = logging.getLogger(__name__)
# A claim whose verdict does not come (lost broadcast, busy hub) is asked again after this
# many seconds, doubling up to the cap.
CLAIM_RETRY_FIRST, CLAIM_RETRY_CAP = 2.0, 16.0
OUTBOX_MEMORY = 16 * 1024 * 1024


def now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(eq=False)
class Held:
    """One attempt this worker holds: from its delivery until its final state is confirmed."""

    payload: JobPayload
    control: JobControl = field(default_factory=JobControl)
    verdict: asyncio.Future[dict[str, Any]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    finished: bool = False  # the run is over: the slot is free, the final state on its way
    dropped: bool = False  # the platform runs another attempt: say nothing more about this one
    given_back: bool = False  # stopped by the worker's own shutdown: to be run again elsewhere

    @property
    def job_id(self) -> int:
        return self.payload["job"]["id"]

    @property
    def attempt(self) -> int:
        return self.payload["job"]["attempt"]

    @property
    def lease(self) -> str:
        return self.payload["lease"]


class Worker:
    def __init__(
        self,
        broker: Broker,
        backend: Backend,
        *,
        name: str,
        queues: list[str],
        pool_size: int,
        work_dir: Path,
        heartbeat_interval: float = HEARTBEAT_SECONDS,
        outbox_memory: int = OUTBOX_MEMORY,
        token: str = "",
    ) -> None:
        self.broker = broker
        self.token = token  # sent with each heartbeat; the platform checks it
        self.backend = backend
        self.name = name
        self.queues = queues
        self.pool_size = pool_size
        self.heartbeat_interval = heartbeat_interval
        # Per worker name: workers sharing a work directory keep their messages apart.
        self.outbox = Outbox(broker, work_dir / ".outbox" / name, outbox_memory, _state_of_job)
        self.runner = Runner(self.outbox, backend, name, work_dir)
        self.held: dict[str, Held] = {}  # by lease
        # Cancels that arrive before their job does; bounded, old ones are long irrelevant.
        self._early_cancels: deque[int] = deque(maxlen=1000)
        self._subscriptions: list[Subscription] = []
        self._commands: Subscription | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._heartbeat: asyncio.Task[None] | None = None
        self._draining = False
        self.problem: str | None = None  # why this worker takes no jobs (protocol mismatch)
        self.drain_requested = asyncio.Event()  # an operator asked (`roundhouse workers drain`)
        self._drainer: asyncio.Task[None] | None = None

    @property
    def running(self) -> dict[int, JobControl]:
        """The jobs being run or claimed here, by id."""
        return {h.job_id: h.control for h in self.held.values() if not h.finished}

    @property
    def free_slots(self) -> int:
        if self._draining or self.problem:
            return 0
        return max(self.pool_size - len(self.running), 0)

    async def start(self) -> None:
        # Before any job: what a killed predecessor left would otherwise hold memory and slots.
        for name in await self.backend.cleanup_leftovers(self.runner.work_dir):
            log.warning("removed job environment %s, left behind by a stopped worker", name)
        await self.broker.connect()
        self.outbox.start()
        self._commands = await self.broker.subscribe(COMMAND_EXCHANGE, self._on_command)
        for queue in self.queues:
            self._subscriptions.append(
                await self.broker.consume(queue, self._on_job, self.free_slots)
            )
        self._heartbeat = asyncio.get_running_loop().create_task(self._heartbeat_loop())

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _update_prefetch(self) -> None:
        for subscription in self._subscriptions:
            await subscription.set_prefetch(self.free_slots)

    # -- taking a job -------------------------------------------------------------------------

    async def _on_job(self, delivery: Delivery) -> None:
        payload: JobPayload = delivery.body  # type: ignore[assignment]
        if payload.get("v") != PROTOCOL_VERSION:
            await self._refuse_jobs(
                f"the platform sends jobs in protocol version {payload.get('v')}, and this "
                f"worker (roundhouse {__version__}) speaks version {PROTOCOL_VERSION}; "
                "install the platform's version of roundhouse on this worker"
            )
            await delivery.reject(requeue=True)  # for a worker that can run it
            return
        job_id, attempt = payload["job"]["id"], payload["job"]["attempt"]
        if payload["lease"] in self.held or self._superseded(job_id, attempt):
            # A copy of an attempt held here, or of one older than it: nothing to run.
            await _settle(delivery)
            return
        if self.free_slots <= 0:
            await delivery.reject(requeue=True)
            return
        for older in [h for h in self.held.values() if h.job_id == job_id]:
            self._drop(older, "the platform runs a newer attempt of this job")
        held = Held(payload)
        if job_id in self._early_cancels:
            held.control.canceled.set()
        self.held[held.lease] = held
        try:
            # Acknowledged only once the claim is safe with the broker (DESIGN.md, Protocol).
            await self.outbox.send(STATE_QUEUE, self._event(held, "received"))
        except asyncio.CancelledError:
            self.held.pop(held.lease, None)
            raise
        # The claim goes first: restarting the consumer takes round trips, and until this
        # delivery is settled it counts against the consumer's prefetch anyway.
        await self._update_prefetch()
        await _settle(delivery)
        self._spawn(self._run(held))

    def _superseded(self, job_id: int, attempt: int) -> bool:
        return any(h.job_id == job_id and h.attempt > attempt for h in self.held.values())

    async def _run(self, held: Held) -> None:
        try:
            if not await self._claim(held):
                return
            state = await self._execute(held)
            if held.dropped:
                return
            final = self.outbox.put(STATE_QUEUE, self._event(held, state))
            held.finished = True
            await self._update_prefetch()
            await self.outbox.delivered(final)
        finally:
            self.held.pop(held.lease, None)
            await self._update_prefetch()

    async def _claim(self, held: Held) -> bool:
        """Wait for the hub's verdict on our `received`, asking again if it does not come."""
        delay, asked = CLAIM_RETRY_FIRST, -1
        while not (await asyncio.wait({held.verdict}, timeout=delay))[0]:
            # Asked again only once the last ask is out: an outage must not pile them up.
            if self.outbox.is_sent(asked):
                asked = self.outbox.put(STATE_QUEUE, self._event(held, "received"))
            delay = min(delay * 2, CLAIM_RETRY_CAP)
        verdict = held.verdict.result()
        if verdict.get("given_back"):
            # Stopped before it ran: the platform hears `requeued` right after our claim.
            await self.outbox.send(STATE_QUEUE, self._event(held, "requeued"))
            return False
        if not verdict.get("granted"):
            log.info(
                "job %s attempt %s is not ours to run: %s",
                held.job_id,
                held.attempt,
                verdict.get("reason"),
            )
            return False
        return True

    async def _execute(self, held: Held) -> str:
        self.outbox.put(STATE_QUEUE, self._event(held, "started"))
        try:
            state = await self.runner.run(held.payload, held.control)
        except Exception:
            log.exception("job %s failed inside the worker", held.job_id)
            state = "errored"
        return "requeued" if held.given_back else state

    def _event(self, held: Held, state: str) -> dict[str, Any]:
        return {
            "v": PROTOCOL_VERSION,
            "job_id": held.job_id,
            "attempt": held.attempt,
            "lease": held.lease,
            "state": state,
            "worker": self.name,
            "at": now(),
        }

    def _drop(self, held: Held, why: str) -> None:
        """Stop an attempt the platform no longer counts on, and report nothing more of it."""
        if held.dropped:
            return
        log.warning("dropping job %s attempt %s: %s", held.job_id, held.attempt, why)
        held.dropped = True
        held.control.reason = f"This attempt was stopped: {why}"
        held.control.canceled.set()
        if not held.verdict.done():
            held.verdict.set_result({"granted": False, "reason": why})

    async def _refuse_jobs(self, problem: str) -> None:
        """Take no more jobs (until restarted); claims still open will not be answered."""
        if self.problem != problem:
            log.error("this worker takes no jobs: %s", problem)
        self.problem = problem
        for held in self.held.values():
            if not held.verdict.done():
                held.verdict.set_result({"granted": False, "reason": problem})
        await self._update_prefetch()

    # -- commands from the platform -----------------------------------------------------------

    async def _on_command(self, command: dict[str, Any]) -> None:
        if "claim" in command:
            self._on_verdict(command)
        elif "cancel" in command:
            self._on_cancel(command)
        elif command.get("to") == self.name and command.get("problem"):
            await self._refuse_jobs(str(command["problem"]))
        elif command.get("drain") == self.name and not self.drain_requested.is_set():
            log.warning("an operator asked this worker to drain: it takes no new jobs")
            self.drain_requested.set()
            self._drainer = asyncio.get_running_loop().create_task(self.drain())

    def _on_verdict(self, verdict: dict[str, Any]) -> None:
        if verdict.get("worker") != self.name:
            return
        held = self.held.get(str(verdict.get("lease")))
        if held is None:
            return
        if not held.verdict.done():
            held.verdict.set_result(verdict)
        elif not verdict.get("granted"):
            self._drop(held, str(verdict.get("reason")))

    def _on_cancel(self, command: dict[str, Any]) -> None:
        job_id, attempt = command.get("cancel"), command.get("attempt")
        if not isinstance(job_id, int):
            return
        targets = [
            h
            for h in self.held.values()
            if h.job_id == job_id and (attempt is None or h.attempt == attempt)
        ]
        if not targets:
            self._early_cancels.append(job_id)
        for held in targets:
            held.control.reason = str(command.get("reason") or "Job canceled")
            held.control.canceled.set()

    # -- heartbeats ---------------------------------------------------------------------------

    def heartbeat(self) -> dict[str, Any]:
        running = self.running
        leases: list[HeldLease] = [
            {"id": h.job_id, "attempt": h.attempt, "lease": h.lease}
            for h in self.held.values()
            if not h.dropped
        ]
        return {
            "v": PROTOCOL_VERSION,
            "name": self.name,
            "version": __version__,
            "protocol": PROTOCOL_VERSION,
            "queues": self.queues,
            "backend": self.backend.name,
            "capacity": self.pool_size,
            "busy": len(running),
            "running": sorted(running),
            "leases": leases,
            "draining": self._draining,
            "token": self.token,
            "at": now(),
        }

    async def _heartbeat_loop(self) -> None:
        while True:
            try:
                # Bounded: a heartbeat that cannot go now is replaced by the next one.
                async with asyncio.timeout(self.heartbeat_interval):
                    await self.broker.publish(WORKER_QUEUE, self.heartbeat())
            except Exception as error:
                log.warning(
                    "heartbeat not sent (%s); the broker is unreachable", error or "timeout"
                )
            await asyncio.sleep(self.heartbeat_interval)

    # -- stopping -----------------------------------------------------------------------------

    async def drain(self, outbox_timeout: float = 30.0) -> None:
        """Take no new jobs, let running ones finish, send what they reported."""
        self._draining = True
        for subscription in self._subscriptions:
            await subscription.cancel()
        self._subscriptions.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            async with asyncio.timeout(outbox_timeout):
                await self.outbox.drained()
        except TimeoutError:
            log.error(
                "%d messages to the platform could not be sent before stopping; the platform "
                "runs their jobs again once their leases expire",
                self.outbox.pending,
            )

    def give_back_all(self, reason: str = "The worker was stopped") -> None:
        """Stop every job here; each is reported `requeued`, to run again on another worker."""
        for held in self.held.values():
            if held.finished or held.dropped:
                continue
            held.given_back = True
            held.control.reason = f"{reason}; this job will run again"
            held.control.canceled.set()
            if not held.verdict.done():
                held.verdict.set_result({"granted": False, "given_back": True})

    async def close(self) -> None:
        """After drain(): stop heartbeats and commands (the broker is the caller's)."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        if self._commands is not None:
            await self._commands.cancel()
        await self.outbox.close()

    async def stop(self) -> None:
        """Give back what runs, and stop."""
        self.give_back_all()
        await self.drain()
        await self.close()


def _state_of_job(queue: str, body: dict[str, Any]) -> Hashable | None:
    """The outbox's order key: a job's state events reach the hub one after the other."""
    return body.get("job_id") if queue == STATE_QUEUE else None


async def _settle(delivery: Delivery) -> None:
    """Acknowledge; if the connection it came on is gone, RabbitMQ delivers it again, and the
    claim of whoever gets it then is denied, since it is held here."""
    if not await delivery.ack_unless_lost():
        log.info("could not acknowledge a delivery; its claim settles who runs it")
