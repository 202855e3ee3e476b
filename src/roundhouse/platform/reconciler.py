"""The reconciler: finds jobs that would otherwise wait forever and moves them on.

A job held by a worker that stopped heart-beating runs again as a new attempt (at most
MAX_ATTEMPTS); queued jobs whose message the in-process broker lost at a restart are published
again; queued jobs that no live worker's queues cover say so on the job.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import select

from roundhouse.broker.memory import MemoryBroker
from roundhouse.db.models import Job, JobTransition, Worker, utcnow
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.hub import Hub
from roundhouse.platform.logs import LogService
from roundhouse.platform.scheduler import Scheduler
from roundhouse.protocol import HEARTBEAT_SECONDS

log = logging.getLogger(__name__)
RECONCILE_SECONDS = 5.0
# Three missed heartbeats: one late beat is a hiccup, three are a dead worker.
LOST_AFTER = timedelta(seconds=3 * HEARTBEAT_SECONDS)
MAX_ATTEMPTS = 3
HELD_STATES = ("received", "started")
YELLOW, RED, RESET = "\033[33;1m", "\033[31;1m", "\033[0m"


class Reconciler:
    def __init__(
        self, ctx: PlatformContext, scheduler: Scheduler, hub: Hub, logs: LogService
    ) -> None:
        self.ctx = ctx
        self.scheduler = scheduler
        self.hub = hub
        self.logs = logs
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # The in-process broker starts empty and its worker lived in the previous process.
        if isinstance(self.ctx.broker, MemoryBroker):
            await self.recover_after_restart()
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(RECONCILE_SECONDS)
            try:
                await self.run_once()
            except Exception:
                log.exception("reconciler pass failed; trying again in %s s", RECONCILE_SECONDS)

    async def run_once(self) -> None:
        await self.requeue_lost()
        await self.explain_waiting()

    async def recover_after_restart(self) -> None:
        """All-in-one start: every held job's worker is gone, every queued message too."""
        # Republish first: retry() queues the held jobs itself, and a job published twice
        # would run twice.
        await self.scheduler.republish_queued()
        async with self.ctx.sessions() as session:
            held = list(await session.scalars(select(Job.id).where(Job.state.in_(HELD_STATES))))
        for job_id in held:
            await self.retry(job_id, "the platform and its local worker were restarted")

    async def requeue_lost(self) -> list[int]:
        """Jobs whose worker is unknown or silent for LOST_AFTER run again."""
        cutoff = utcnow() - LOST_AFTER
        async with self.ctx.sessions() as session:
            rows = await session.execute(
                select(Job.id, Job.worker, Worker.last_seen)
                .outerjoin(Worker, Worker.name == Job.worker)
                .where(Job.state.in_(HELD_STATES))
            )
            lost = [
                (job_id, worker)
                for job_id, worker, last_seen in rows
                if last_seen is None or last_seen < cutoff
            ]
        for job_id, worker in lost:
            await self.retry(
                job_id, f"worker {worker} stopped sending heartbeats for {LOST_AFTER.seconds} s"
            )
        return [job_id for job_id, _ in lost]

    async def retry(self, job_id: int, why: str) -> None:
        """End the held attempt; run a new one, or error the job after MAX_ATTEMPTS."""
        async with self.ctx.sessions() as session, session.begin():
            job = await session.get(Job, job_id, with_for_update={"of": Job})
            if job is None or job.state not in HELD_STATES:
                return
            lost_attempt = job.attempt
            if lost_attempt >= MAX_ATTEMPTS:
                now = utcnow()
                job.state, job.finished_at, job.waiting_reason = "errored", now, None
                session.add(JobTransition(job_id=job_id, attempt=lost_attempt, state="errored"))
            else:
                job.attempt += 1
                job.state, job.worker, job.lease = "created", None, None
                job.queued_at = job.received_at = job.started_at = None
                session.add(JobTransition(job_id=job_id, attempt=job.attempt, state="created"))
            build_id = job.build_id
        if lost_attempt >= MAX_ATTEMPTS:
            note = f"\n{RED}Attempt {lost_attempt} was lost: {why}. The job was tried "
            note += f"{MAX_ATTEMPTS} times and is now errored.{RESET}\n"
            await self.logs.add_note(job_id, lost_attempt, note, final=True)
            log.warning("job %s errored after %s lost attempts: %s", job_id, lost_attempt, why)
        else:
            note = f"{YELLOW}Attempt {lost_attempt} was lost: {why}. "
            note += f"This is attempt {lost_attempt + 1}.{RESET}\n"
            await self.logs.add_note(job_id, lost_attempt + 1, note, final=False)
            log.warning("job %s attempt %s lost (%s); running it again", job_id, lost_attempt, why)
            await self.scheduler.schedule(build_id)
        await self.hub.job_changed(build_id, job_id)

    async def explain_waiting(self) -> None:
        """Queued jobs whose queue no live worker serves carry that as their waiting reason."""
        cutoff = utcnow() - LOST_AFTER
        async with self.ctx.sessions() as session, session.begin():
            workers = list(await session.scalars(select(Worker).where(Worker.last_seen >= cutoff)))
            served = sorted({queue for worker in workers for queue in worker.queues})
            queued = list(await session.scalars(select(Job).where(Job.state == "queued")))
            changed = []
            for job in queued:
                reason = None
                if job.queue not in served:
                    serving = ", ".join(served) if served else "no worker is connected"
                    reason = f"no worker serves queue {job.queue} (workers serve: {serving})"
                if job.waiting_reason != reason:
                    job.waiting_reason = reason
                    changed.append((job.build_id, job.id))
        for build_id, job_id in changed:
            self.ctx.bus.publish(f"job:{job_id}", f"build:{build_id}")
