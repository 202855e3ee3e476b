"""The scheduler: moves runnable jobs from `created` to `queued` and publishes them.

Runnable means: in the first stage of its build that still has unfinished jobs, and within
the limits — the repository's maximum_number_of_builds and the owner's concurrency (jobs
queued or running at once). A job that may not run yet says why (waiting_reason). Restarted
and requeued jobs (attempt > 1) go first.

One owner (the part of a slug before "/") is scheduled at a time, across platform processes
too (an advisory lock), so limits hold and no job is queued twice. The database change is
committed before the message is published, and published_at is set once the broker confirmed
it, so the reconciler finds a job whose message never left.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import Build, Job, JobTransition, Repository, utcnow
from roundhouse.platform.buildstate import current_stage_jobs
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.env_vars import JobEnv, job_env
from roundhouse.platform.keys import secure_values
from roundhouse.platform.locks import local_lock, transaction_lock
from roundhouse.platform.payload import build_payload
from roundhouse.protocol import JobPayload
from roundhouse.travisyml.secure import SecureValues

log = logging.getLogger(__name__)
ACTIVE_STATES = ("queued", "received", "started")
PUBLISH_AT_ONCE = 32


def owner_of(slug: str) -> str:
    return slug.split("/", 1)[0]


def _jobs(count: int) -> str:
    return "1 job" if count == 1 else f"{count} jobs"


class Scheduler:
    def __init__(self, ctx: PlatformContext) -> None:
        self.ctx = ctx

    async def schedule(self, build_id: int) -> list[int]:
        """Queue what can run now among the builds of build_id's owner; returns the job ids
        published."""
        async with self.ctx.sessions() as session:
            slug = await session.scalar(
                select(Repository.slug)
                .join(Build, Build.repository_id == Repository.id)
                .where(Build.id == build_id)
            )
        return [] if slug is None else await self.schedule_owner(owner_of(slug))

    async def schedule_owner(self, owner: str) -> list[int]:
        lock = f"roundhouse:schedule:{owner}"
        async with local_lock(lock):
            async with self.ctx.sessions() as session, session.begin():
                await transaction_lock(session, lock)
                payloads, changed = await self._queue_runnable(session, owner)
            await self.publish(payloads)
        self.ctx.bus.publish(*(f"build:{build_id}" for build_id in changed))
        return [p["job"]["id"] for p in payloads]

    async def _queue_runnable(
        self, session: AsyncSession, owner: str
    ) -> tuple[list[JobPayload], set[int]]:
        repositories = {
            r.id: r
            for r in await session.scalars(
                select(Repository).where(Repository.slug.startswith(f"{owner}/", autoescape=True))
            )
        }
        waiting = list(
            await session.scalars(
                select(Job)
                .where(Job.repository_id.in_(repositories), Job.state == "created")
                .order_by((Job.attempt > 1).desc(), Job.id)
            )
        )
        if not waiting:
            return [], set()
        build_ids = {job.build_id for job in waiting}
        builds = {
            b.id: b for b in await session.scalars(select(Build).where(Build.id.in_(build_ids)))
        }
        jobs_of: dict[int, list[Job]] = {build_id: [] for build_id in build_ids}
        for job in await session.scalars(select(Job).where(Job.build_id.in_(build_ids))):
            jobs_of[job.build_id].append(job)
        active: Counter[int] = Counter(
            dict(
                (
                    await session.execute(
                        select(Job.repository_id, func.count())
                        .where(Job.repository_id.in_(repositories), Job.state.in_(ACTIVE_STATES))
                        .group_by(Job.repository_id)
                    )
                ).all()
            )
        )
        settings = self.ctx.settings
        owner_limit = settings.owner_limits.get(owner, settings.owner_concurrency)
        payloads: list[JobPayload] = []
        changed: set[int] = set()
        secrets: dict[int, tuple[SecureValues, JobEnv]] = {}  # by build: read once a pass
        for job in waiting:
            build, repository = builds[job.build_id], repositories[job.repository_id]
            stage = current_stage_jobs(build.stages, jobs_of[job.build_id])
            repo_limit = repository.maximum_number_of_builds
            reason = None
            if job not in stage:
                reason = f"waiting for the stage {stage[0].stage or 'before it'} to finish"
            elif repo_limit and active[repository.id] >= repo_limit:
                reason = (
                    f"waiting: {repository.slug} runs at most {_jobs(repo_limit)} at once "
                    "(its maximum_number_of_builds setting)"
                )
            elif owner_limit and sum(active.values()) >= owner_limit:
                reason = (
                    f"waiting: {owner} runs at most {_jobs(owner_limit)} at once "
                    "(owner_concurrency setting)"
                )
            if reason is None:
                payloads.append(await self._queue(session, job, build, repository, secrets))
                active[repository.id] += 1
                changed.add(job.build_id)
            elif job.waiting_reason != reason:
                job.waiting_reason = reason
                changed.add(job.build_id)
        return payloads, changed

    async def _queue(
        self,
        session: AsyncSession,
        job: Job,
        build: Build,
        repository: Repository,
        secrets: dict[int, tuple[SecureValues, JobEnv]],
    ) -> JobPayload:
        now = utcnow()
        job.state, job.queued_at, job.lease = "queued", now, uuid.uuid4().hex
        job.waiting_reason = None
        session.add(JobTransition(job_id=job.id, attempt=job.attempt, state="queued", at=now))
        if build.state == "created":
            build.state = "queued"
        web_url = self.ctx.web_url(f"/{repository.slug}/jobs/{job.id}")
        if build.id not in secrets:
            secrets[build.id] = (
                await secure_values(session, self.ctx.at_rest, build, repository),
                await job_env(session, self.ctx.at_rest, build, repository),
            )
        secure, env = secrets[build.id]
        return build_payload(
            job, build, repository, self.ctx.settings, web_url, secure.for_another_job(), env
        )

    async def republish(self, job_ids: Sequence[int]) -> int:
        """Publish these jobs again, if still queued (their messages were lost); how many."""
        async with self.ctx.sessions() as session:
            jobs = list(
                await session.scalars(
                    select(Job).where(Job.id.in_(job_ids), Job.state == "queued").order_by(Job.id)
                )
            )
            payloads = []
            for job in jobs:
                repository = job.build.repository
                web_url = self.ctx.web_url(f"/{repository.slug}/jobs/{job.id}")
                secure = await secure_values(session, self.ctx.at_rest, job.build, repository)
                env = await job_env(session, self.ctx.at_rest, job.build, repository)
                payloads.append(
                    build_payload(
                        job, job.build, repository, self.ctx.settings, web_url, secure, env
                    )
                )
        await self.publish(payloads)
        return len(payloads)

    async def publish(self, payloads: Sequence[JobPayload]) -> None:
        """Publish, then note which were confirmed; a failure is left to the reconciler."""
        for start in range(0, len(payloads), PUBLISH_AT_ONCE):
            chunk = payloads[start : start + PUBLISH_AT_ONCE]
            results = await asyncio.gather(
                *(self.ctx.broker.publish(p["queue"], dict(p)) for p in chunk),
                return_exceptions=True,
            )
            sent = [p for p, result in zip(chunk, results, strict=True) if result is None]
            for payload, result in zip(chunk, results, strict=True):
                if result is not None:
                    log.error("could not publish job %s: %s", payload["job"]["id"], result)
            if sent:
                async with self.ctx.sessions() as session, session.begin():
                    await session.execute(
                        update(Job)
                        .where(
                            Job.id.in_([p["job"]["id"] for p in sent]),
                            Job.lease.in_([p["lease"] for p in sent]),
                        )
                        .values(published_at=utcnow())
                    )
