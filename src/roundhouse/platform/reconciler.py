"""The reconciler: finds jobs that would otherwise wait forever and moves them on.

Every few seconds, in one platform process at a time (an advisory lock):
- a held job whose lease was not renewed (its worker's heartbeats stopped listing it) for
  worker_lost_after runs again as a new attempt (the hub's requeue; errored after 3);
- a queued job whose message never reached the broker, or is no longer in its queue, is
  published again (a copy too many is harmless: only one claim on a lease is granted);
- owners with jobs waiting in `created` are scheduled again (a platform stopped between two
  steps, a limit that freed up);
- queued jobs that no live worker's queues cover say so on the job;
- users' code-host syncs whose lease expired (a crashed sync) are reset (platform/usersync.py).
With the in-process broker, a start also recovers what the previous process held.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from roundhouse.broker.memory import MemoryBroker
from roundhouse.db.models import Job, Repository, Worker, utcnow
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.hub import HELD_STATES, Hub
from roundhouse.platform.locks import leader
from roundhouse.platform.periodic import Periodic
from roundhouse.platform.scheduler import Scheduler, owner_of
from roundhouse.platform.usersync import reset_stale_syncs

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(self, ctx: PlatformContext, scheduler: Scheduler, hub: Hub) -> None:
        self.ctx = ctx
        self.scheduler = scheduler
        self.hub = hub
        self._loop = Periodic(
            "reconciler pass",
            self.run_once,
            lambda: ctx.settings.reconcile_interval,
            at_once=False,
        )

    @property
    def lost_after(self) -> timedelta:
        return timedelta(seconds=self.ctx.settings.worker_lost_after)

    async def start(self) -> None:
        # The in-process broker starts empty and its worker lived in the previous process.
        if isinstance(self.ctx.broker, MemoryBroker):
            await self.recover_after_restart()
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def run_once(self) -> None:
        engine: AsyncEngine = self.ctx.sessions.kw["bind"]
        async with leader(engine, "roundhouse:reconciler") as leading:
            if not leading:
                return  # another platform process does this pass
            await self.requeue_lost()
            await self.republish_lost()
            await self.schedule_waiting()
            await self.explain_waiting()
            await self.reset_stale_syncs()

    async def reset_stale_syncs(self) -> None:
        async with self.ctx.sessions() as session, session.begin():
            reset = await reset_stale_syncs(session, utcnow())
        if reset:
            log.warning("reset the code-host sync of %s: its lease expired", ", ".join(reset))

    async def recover_after_restart(self) -> None:
        """All-in-one start: every held job's worker is gone, every queued message too."""
        async with self.ctx.sessions() as session:
            held = list(await session.scalars(select(Job.id).where(Job.state.in_(HELD_STATES))))
            # Taken before the held jobs are queued again: those are published by the requeue,
            # and a job published twice would run twice.
            queued = list(await session.scalars(select(Job.id).where(Job.state == "queued")))
        for job_id in held:
            await self.hub.requeue(job_id, "the platform and its local worker were restarted")
        await self.scheduler.republish(queued)

    async def requeue_lost(self) -> list[int]:
        """Held jobs whose lease was not renewed for lost_after run again."""
        if self.ctx.broker.connected_for() < self.lost_after.total_seconds():
            # Heartbeats could not reach us lately: silence proves nothing yet.
            return []
        cutoff = utcnow() - self.lost_after
        async with self.ctx.sessions() as session:
            rows = list(
                await session.execute(
                    select(Job.id, Job.worker).where(
                        Job.state.in_(HELD_STATES),
                        func.coalesce(Job.lease_renewed_at, Job.received_at) < cutoff,
                    )
                )
            )
        seconds = f"{self.lost_after.total_seconds():g}"
        lost = []
        for job_id, worker in rows:
            why = f"worker {worker} did not renew its lease for {seconds} s"
            if await self.hub.requeue(job_id, why):
                lost.append(job_id)
        return lost

    async def republish_lost(self) -> list[int]:
        """Queued jobs whose message never left, or left their queue without being claimed."""
        cutoff = utcnow() - self.lost_after
        async with self.ctx.sessions() as session:
            rows = list(
                await session.execute(
                    select(Job.id, Job.queue, Job.published_at).where(
                        Job.state == "queued",
                        Job.queued_at < cutoff,
                        or_(Job.published_at.is_(None), Job.published_at < cutoff),
                    )
                )
            )
        lost = [job_id for job_id, _, published_at in rows if published_at is None]
        published: dict[str, list[int]] = {}
        for job_id, queue, published_at in rows:
            if published_at is not None:
                published.setdefault(queue, []).append(job_id)
        for queue, job_ids in published.items():
            # An empty queue cannot hold their messages (a claim in flight costs one copy).
            if (await self.ctx.broker.queue_info(queue)).depth == 0:
                lost.extend(job_ids)
        if lost:
            log.warning("publishing %d queued jobs again: %s", len(lost), sorted(lost))
            await self.scheduler.republish(lost)
        return lost

    async def schedule_waiting(self) -> None:
        async with self.ctx.sessions() as session:
            slugs = await session.scalars(
                select(Repository.slug)
                .join(Job, Job.repository_id == Repository.id)
                .where(Job.state == "created")
                .distinct()
            )
            owners = sorted({owner_of(slug) for slug in slugs})
        for owner in owners:
            await self.scheduler.schedule_owner(owner)

    async def explain_waiting(self) -> None:
        """Queued jobs whose queue no live worker serves carry that as their waiting reason."""
        cutoff = utcnow() - self.lost_after
        async with self.ctx.sessions() as session, session.begin():
            workers = list(await session.scalars(select(Worker).where(Worker.last_seen >= cutoff)))
            served = sorted({queue for w in workers if not w.problem for queue in w.queues})
            queued = await session.execute(
                select(Job.id, Job.build_id, Job.queue, Job.waiting_reason).where(
                    Job.state == "queued"
                )
            )
            changed = []
            for job_id, build_id, queue, current in queued:
                reason = None
                if queue not in served:
                    serving = ", ".join(served) if served else "no worker is connected"
                    reason = f"no worker serves queue {queue} (workers serve: {serving})"
                if current != reason:
                    changed.append((build_id, job_id, reason))
            for _, job_id, reason in changed:
                await session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.state == "queued")
                    .values(waiting_reason=reason)
                )
        for build_id, job_id, _ in changed:
            self.ctx.bus.publish(f"job:{job_id}", f"build:{build_id}")
