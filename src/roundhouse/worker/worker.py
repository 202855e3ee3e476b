"""The worker loop: take jobs from its queues while it has free slots, say `received` before
acknowledging, run each job, report every state, heartbeat, and obey cancel commands.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
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
    JobPayload,
)
from roundhouse.worker.backends.base import Backend
from roundhouse.worker.runner import JobControl, Runner

log = logging.getLogger(__name__)


def now() -> str:
    return datetime.now(UTC).isoformat()


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
    ) -> None:
        self.broker = broker
        self.backend = backend
        self.name = name
        self.queues = queues
        self.pool_size = pool_size
        self.runner = Runner(broker, backend, name, work_dir)
        self.running: dict[int, JobControl] = {}
        # Cancels that arrive before their job does; bounded, old ones are long irrelevant.
        self._early_cancels: deque[int] = deque(maxlen=1000)
        self._subscriptions: list[Subscription] = []
        self._commands: Subscription | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._heartbeat: asyncio.Task[None] | None = None
        self._draining = False

    @property
    def free_slots(self) -> int:
        return 0 if self._draining else self.pool_size - len(self.running)

    async def start(self) -> None:
        # Before any job: what a killed predecessor left would otherwise hold memory and slots.
        for name in await self.backend.cleanup_leftovers(self.runner.work_dir):
            log.warning("removed job environment %s, left behind by a stopped worker", name)
        await self.broker.connect()
        self._commands = await self.broker.subscribe(COMMAND_EXCHANGE, self._on_command)
        for queue in self.queues:
            self._subscriptions.append(
                await self.broker.consume(queue, self._on_job, self.free_slots)
            )
        self._heartbeat = asyncio.get_running_loop().create_task(self._heartbeat_loop())

    async def _update_prefetch(self) -> None:
        for subscription in self._subscriptions:
            await subscription.set_prefetch(self.free_slots)

    async def _on_job(self, delivery: Delivery) -> None:
        payload: JobPayload = delivery.body  # type: ignore[assignment]
        job_id, attempt = payload["job"]["id"], payload["job"]["attempt"]
        if self._draining:
            await delivery.reject(requeue=True)
            return
        control = JobControl()
        if job_id in self._early_cancels:
            control.canceled.set()
        self.running[job_id] = control
        await self._update_prefetch()
        try:
            await self.report(job_id, attempt, "received")
            await delivery.ack()
        except Exception:
            log.exception("could not acknowledge job %s; it stays on the queue", job_id)
            del self.running[job_id]
            await self._update_prefetch()
            return
        task = asyncio.get_running_loop().create_task(self._run(payload, control))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, payload: JobPayload, control: JobControl) -> None:
        job_id, attempt = payload["job"]["id"], payload["job"]["attempt"]
        try:
            await self.report(job_id, attempt, "started")
            state = await self.runner.run(payload, control)
            await self.report(job_id, attempt, state)
        except Exception:
            log.exception("job %s failed inside the worker", job_id)
            await self.report(job_id, attempt, "errored")
        finally:
            self.running.pop(job_id, None)
            await self._update_prefetch()

    async def report(self, job_id: int, attempt: int, state: str) -> None:
        event = {
            "v": PROTOCOL_VERSION,
            "job_id": job_id,
            "attempt": attempt,
            "state": state,
            "worker": self.name,
            "at": now(),
        }
        await self.broker.publish(STATE_QUEUE, event)

    async def _on_command(self, command: dict[str, Any]) -> None:
        job_id = command.get("cancel")
        if not isinstance(job_id, int):
            return
        control = self.running.get(job_id)
        if control is None:
            self._early_cancels.append(job_id)
            return
        control.reason = str(command.get("reason") or "Job canceled")
        control.canceled.set()

    def heartbeat(self) -> dict[str, Any]:
        return {
            "v": PROTOCOL_VERSION,
            "name": self.name,
            "version": __version__,
            "protocol": PROTOCOL_VERSION,
            "queues": self.queues,
            "backend": self.backend.name,
            "capacity": self.pool_size,
            "busy": len(self.running),
            "running": sorted(self.running),
            "at": now(),
        }

    async def _heartbeat_loop(self) -> None:
        while True:
            try:
                await self.broker.publish(WORKER_QUEUE, self.heartbeat())
            except Exception:
                log.warning("heartbeat not sent; the broker is unreachable", exc_info=True)
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def drain(self) -> None:
        """Take no new jobs, let running ones finish."""
        self._draining = True
        for subscription in self._subscriptions:
            await subscription.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def cancel_all(self, reason: str = "Worker shutting down") -> None:
        for control in self.running.values():
            control.reason = reason
            control.canceled.set()

    async def stop(self) -> None:
        await self.cancel_all()
        await self.drain()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        if self._commands is not None:
            await self._commands.cancel()
