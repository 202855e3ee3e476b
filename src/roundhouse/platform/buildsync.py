"""Keeping a build in step with its jobs: its state, the next stage (or the cancellation of
later stages when one failed), and a scheduling pass when a job's end may let others in.

Changes of one build's jobs come in bursts (a matrix finishing): they queue on an asyncio
lock, not on the build's row lock (which would hold a database connection each), and one
refresh covers every change committed before it started.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import Build, Job, JobTransition, Repository, utcnow
from roundhouse.platform.buildstate import JobRow, build_state, current_stage_jobs, stage_failed
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.locks import local_lock
from roundhouse.platform.scheduler import Scheduler, owner_of
from roundhouse.protocol import FINISHED_STATES


class BuildSync:
    def __init__(self, ctx: PlatformContext, scheduler: Scheduler) -> None:
        self.ctx = ctx
        self.scheduler = scheduler
        self._stale_builds: set[int] = set()
        # Builds this process saw running, with their repository: a job of one that merely
        # got going changes nothing else, so no database work is needed for it.
        self._running_builds: dict[int, int] = {}

    async def job_changed(self, build_id: int, job_id: int, job_state: str) -> None:
        """The job entered job_state: update the build's state, cancel or start the next stage
        when a stage ends, and let waiting jobs in when a job's end freed a place."""
        repository_id = self._running_builds.get(build_id)
        if repository_id is not None and job_state not in FINISHED_STATES:
            # A job of a running build got going: nothing else changes (most events).
            self.ctx.bus.publish(f"job:{job_id}", f"build:{build_id}", f"repo:{repository_id}")
            return
        # See the module docstring.
        self._stale_builds.add(build_id)
        async with local_lock(f"roundhouse:build:{build_id}"):
            if build_id in self._stale_builds:
                self._stale_builds.discard(build_id)
                await self._refresh_build(build_id, job_state in FINISHED_STATES)
        self.ctx.bus.publish(f"job:{job_id}")

    async def _refresh_build(self, build_id: int, job_finished: bool) -> None:
        async with self.ctx.sessions() as session, session.begin():
            # Columns, not the Build entity: at each job's end, without decoding the build's
            # JSON columns and its repository's.
            build = (
                await session.execute(
                    select(
                        Build.state,
                        Build.started_at,
                        Build.stages,
                        Build.fast_finish,
                        Build.repository_id,
                        Repository.slug,
                        Repository.maximum_number_of_builds,
                    )
                    .join(Repository, Repository.id == Build.repository_id)
                    .where(Build.id == build_id)
                    .with_for_update(of=Build)
                )
            ).first()
            if build is None:
                return
            rows = await session.execute(
                select(Job.id, Job.attempt, Job.stage, Job.state, Job.allow_failure)
                .where(Job.build_id == build_id)
                .order_by(Job.id)
            )
            jobs = [JobRow(*row) for row in rows]
            stage = current_stage_jobs(build.stages, jobs)
            if stage and stage_failed(stage):
                jobs = await self._cancel_created(session, jobs)
            new_state = build_state(jobs, build.fast_finish)
            state = "started" if new_state == "received" else new_state
            changes: dict[str, object] = {"state": state} if state != build.state else {}
            now = utcnow()
            if new_state in ("received", "started") and build.started_at is None:
                changes["started_at"] = now
            if new_state in FINISHED_STATES and build.state not in FINISHED_STATES:
                changes["finished_at"] = now
            if changes:
                await session.execute(update(Build).where(Build.id == build_id).values(changes))
            waiting = any(job.state == "created" for job in jobs)
            limited = job_finished and self._limited(build.slug, build.maximum_number_of_builds)
        if state == "started":
            self._running_builds[build_id] = build.repository_id
        else:
            self._running_builds.pop(build_id, None)
        self.ctx.bus.publish(f"build:{build_id}", f"repo:{build.repository_id}")
        if state != build.state:
            self.ctx.build_changed(build_id, state)
        if waiting or limited:
            await self.scheduler.schedule(build_id)

    @staticmethod
    async def _cancel_created(session: AsyncSession, jobs: list[JobRow]) -> list[JobRow]:
        """A stage failed: the jobs of later stages will not run."""
        created = [job for job in jobs if job.state == "created"]
        if not created:
            return jobs
        now = utcnow()
        await session.execute(
            update(Job)
            .where(Job.id.in_([job.id for job in created]), Job.state == "created")
            .values(state="canceled", finished_at=now, waiting_reason=None)
        )
        session.add_all(
            JobTransition(job_id=job.id, attempt=job.attempt, state="canceled", at=now)
            for job in created
        )
        return [job._replace(state="canceled") if job in created else job for job in jobs]

    def _limited(self, slug: str, maximum_number_of_builds: int) -> bool:
        """Whether a job of the repository ending may let a waiting job of another build in."""
        settings = self.ctx.settings
        owner_limit = settings.owner_limits.get(owner_of(slug), settings.owner_concurrency)
        return bool(owner_limit or maximum_number_of_builds)
