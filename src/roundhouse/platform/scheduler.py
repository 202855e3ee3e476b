"""The scheduler: moves a build's runnable jobs from `created` to `queued` and publishes them.

Runnable means: in the first stage that still has unfinished jobs. The database change is
committed before the message is published, so a lost message is found again by the database.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select

from roundhouse.db.models import Build, Job, JobTransition, Repository, utcnow
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.keys import secure_values
from roundhouse.platform.payload import build_payload
from roundhouse.protocol import FINISHED_STATES, JobPayload

log = logging.getLogger(__name__)


def current_stage_jobs(build: Build, jobs: list[Job]) -> list[Job]:
    """The jobs of the first stage (in the build's stage order) with unfinished jobs."""
    order = {name.lower(): index for index, name in enumerate(build.stages)}

    def stage_index(job: Job) -> int:
        return order.get((job.stage or "").lower(), len(order))

    unfinished = [job for job in jobs if job.state not in FINISHED_STATES]
    if not unfinished:
        return []
    first = min(stage_index(job) for job in unfinished)
    return [job for job in jobs if stage_index(job) == first]


class Scheduler:
    def __init__(self, ctx: PlatformContext) -> None:
        self.ctx = ctx

    async def schedule(self, build_id: int) -> list[int]:
        """Queue what can run now; returns the ids of the jobs published."""
        payloads: list[JobPayload] = []
        async with self.ctx.sessions() as session, session.begin():
            build = await session.get(Build, build_id)
            if build is None or build.state in FINISHED_STATES:
                return []
            jobs = list(
                await session.scalars(select(Job).where(Job.build_id == build_id).order_by(Job.id))
            )
            repository = await session.get(Repository, build.repository_id)
            assert repository is not None
            for job in current_stage_jobs(build, jobs):
                if job.state != "created":
                    continue
                now = utcnow()
                job.state, job.queued_at, job.lease = "queued", now, uuid.uuid4().hex
                session.add(
                    JobTransition(job_id=job.id, attempt=job.attempt, state="queued", at=now)
                )
                if build.state == "created":
                    build.state = "queued"
                web_url = self.ctx.web_url(f"/{repository.slug}/jobs/{job.id}")
                secure = await secure_values(session, self.ctx.at_rest, build, repository)
                payloads.append(
                    build_payload(job, build, repository, self.ctx.settings, web_url, secure)
                )
            repository_id = repository.id
        for payload in payloads:
            await self.publish(payload)
        if payloads:
            self.ctx.bus.publish(f"build:{build_id}", f"repo:{repository_id}")
        return [p["job"]["id"] for p in payloads]

    async def republish_queued(self) -> int:
        """Publish every queued job again (their messages were lost); returns how many."""
        async with self.ctx.sessions() as session:
            jobs = list(
                await session.scalars(select(Job).where(Job.state == "queued").order_by(Job.id))
            )
            payloads = []
            for job in jobs:
                build = await session.get(Build, job.build_id)
                repository = await session.get(Repository, job.repository_id)
                assert build is not None and repository is not None
                web_url = self.ctx.web_url(f"/{repository.slug}/jobs/{job.id}")
                secure = await secure_values(session, self.ctx.at_rest, build, repository)
                payloads.append(
                    build_payload(job, build, repository, self.ctx.settings, web_url, secure)
                )
        for payload in payloads:
            await self.publish(payload)
        return len(payloads)

    async def publish(self, payload: JobPayload) -> None:
        try:
            await self.ctx.broker.publish(payload["queue"], dict(payload))
        except Exception:  # the reconciler republishes queued jobs nobody received
            log.exception("could not publish job %s", payload["job"]["id"])
