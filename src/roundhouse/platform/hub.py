"""The hub: applies job state events, derives build states, steers cancel and restart.

Job states only move forward (created → queued → received → started → finished); a late,
repeated or other-attempt event is ignored, so every event may safely arrive twice.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.broker import Delivery, Subscription
from roundhouse.db.models import Build, Job, JobTransition, utcnow
from roundhouse.platform.buildstate import build_state, stage_failed
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.scheduler import Scheduler, current_stage_jobs
from roundhouse.protocol import COMMAND_EXCHANGE, FINISHED_STATES, PROTOCOL_VERSION, STATE_QUEUE

log = logging.getLogger(__name__)
ORDER = {"created": 0, "queued": 1, "received": 2, "started": 3}
TIMESTAMP = {"received": "received_at", "started": "started_at"}


def moves_forward(current: str, new: str) -> bool:
    if current in FINISHED_STATES:
        return False
    return ORDER.get(new, 4) > ORDER[current]


class Hub:
    def __init__(self, ctx: PlatformContext, scheduler: Scheduler) -> None:
        self.ctx = ctx
        self.scheduler = scheduler
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        # One at a time: events of one job must be applied in the order they were sent.
        self._subscription = await self.ctx.broker.consume(STATE_QUEUE, self._on_event, 1)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.cancel()

    async def _on_event(self, delivery: Delivery) -> None:
        body = delivery.body
        try:
            at = datetime.fromisoformat(body["at"]) if body.get("at") else utcnow()
            await self.apply(
                int(body["job_id"]), int(body["attempt"]), body["state"], body.get("worker"), at
            )
        except Exception:
            log.exception("hub could not apply %r", body)
        await delivery.ack()

    async def apply(
        self, job_id: int, attempt: int, state: str, worker: str | None, at: datetime
    ) -> bool:
        """Apply one state event; returns False when it was stale or repeated."""
        async with self.ctx.sessions() as session, session.begin():
            job = await session.get(Job, job_id, with_for_update={"of": Job})
            if job is None or job.attempt != attempt or not moves_forward(job.state, state):
                return False
            job.state = state
            if worker:
                job.worker = worker
            if state in TIMESTAMP:
                setattr(job, TIMESTAMP[state], at)
            if state in FINISHED_STATES:
                job.finished_at = at
            job.waiting_reason = None
            session.add(
                JobTransition(job_id=job.id, attempt=attempt, state=state, worker=worker, at=at)
            )
            build_id = job.build_id
        for listener in self.ctx.job_listeners:
            listener(job)
        await self.job_changed(build_id, job_id)
        return True

    async def job_changed(self, build_id: int, job_id: int) -> None:
        """Update the build's state, cancel or start the next stage when a stage ends."""
        schedule_next = False
        async with self.ctx.sessions() as session, session.begin():
            build = await session.get(Build, build_id, with_for_update={"of": Build})
            if build is None:
                return
            jobs = list(
                await session.scalars(select(Job).where(Job.build_id == build_id).order_by(Job.id))
            )
            stage = current_stage_jobs(build, jobs)
            if stage and stage_failed(stage):
                for job in jobs:
                    if job.state == "created":
                        self._finish(session, job, "canceled")
            elif stage and all(job.state == "created" for job in stage):
                schedule_next = True
            new_state = build_state(jobs, build.fast_finish)
            now = utcnow()
            if new_state in ("received", "started") and build.started_at is None:
                build.started_at = now
            if new_state in FINISHED_STATES and build.state not in FINISHED_STATES:
                build.finished_at = now
            old_state = build.state
            build.state = "started" if new_state == "received" else new_state
            repository_id, changed = build.repository_id, build.state != old_state
        self.ctx.bus.publish(f"job:{job_id}", f"build:{build_id}", f"repo:{repository_id}")
        if changed:
            self.ctx.build_changed(build_id, build.state)
        if schedule_next:
            await self.scheduler.schedule(build_id)

    @staticmethod
    def _finish(session: AsyncSession, job: Job, state: str) -> None:
        now = utcnow()
        job.state, job.finished_at, job.waiting_reason = state, now, None
        session.add(JobTransition(job_id=job.id, attempt=job.attempt, state=state, at=now))

    async def cancel_job(self, job_id: int) -> bool:
        async with self.ctx.sessions() as session, session.begin():
            job = await session.get(Job, job_id, with_for_update={"of": Job})
            if job is None or job.state in FINISHED_STATES:
                return False
            self._finish(session, job, "canceled")
            build_id, attempt = job.build_id, job.attempt
        await self.ctx.broker.broadcast(
            COMMAND_EXCHANGE, {"v": PROTOCOL_VERSION, "cancel": job_id, "attempt": attempt}
        )
        await self.job_changed(build_id, job_id)
        return True

    async def cancel_build(self, build_id: int) -> int:
        async with self.ctx.sessions() as session:
            ids = list(await session.scalars(select(Job.id).where(Job.build_id == build_id)))
        canceled = [job_id for job_id in ids if await self.cancel_job(job_id)]
        return len(canceled)

    async def restart_job(self, job_id: int) -> bool:
        """A new attempt of a finished job; the build becomes unfinished again."""
        async with self.ctx.sessions() as session, session.begin():
            job = await session.get(Job, job_id, with_for_update={"of": Job})
            if job is None or job.state not in FINISHED_STATES:
                return False
            job.attempt += 1
            job.state, job.worker, job.lease, job.waiting_reason = "created", None, None, None
            job.queued_at = job.received_at = job.started_at = job.finished_at = None
            session.add(JobTransition(job_id=job.id, attempt=job.attempt, state="created"))
            build = await session.get(Build, job.build_id, with_for_update={"of": Build})
            assert build is not None
            build.state, build.finished_at = "created", None
            build_id = build.id
        self.ctx.build_changed(build_id, "created")
        await self.scheduler.schedule(build_id)
        await self.job_changed(build_id, job_id)
        return True

    async def restart_build(self, build_id: int) -> int:
        async with self.ctx.sessions() as session:
            ids = list(await session.scalars(select(Job.id).where(Job.build_id == build_id)))
        return len([job_id for job_id in ids if await self.restart_job(job_id)])
