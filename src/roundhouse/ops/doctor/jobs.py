"""Jobs stuck in queued, received or started past their time limit (hard_timeout plus a
grace period), which the reconciler did not move on: shared by `roundhouse doctor` and
`roundhouse jobs stuck` (which can requeue or error them, platform/stuck.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from roundhouse.db.models import Job, utcnow
from roundhouse.db.session import SessionFactory
from roundhouse.ops.doctor.check import Check, fail, ok, plural, warn
from roundhouse.settings import Settings

# A worker ends a job at hard_timeout; this covers its reporting and a clock off a little.
GRACE = timedelta(minutes=5)
SINCE = {"queued": Job.queued_at, "received": Job.received_at, "started": Job.started_at}
SHOWN = 5


@dataclass(frozen=True)
class StuckJob:
    id: int
    number: str
    slug: str
    state: str
    since: datetime
    queue: str
    worker: str | None

    def describe(self, now: datetime) -> str:
        minutes = int((now - self.since).total_seconds() // 60)
        where = f" on worker {self.worker}" if self.worker and self.state != "queued" else ""
        return f"job {self.id} ({self.slug} #{self.number}) {self.state} for {minutes} min{where}"


async def find_stuck(
    sessions: SessionFactory, settings: Settings, grace: timedelta = GRACE
) -> list[StuckJob]:
    limit = utcnow() - timedelta(seconds=settings.hard_timeout) - grace
    overdue = or_(*(and_(Job.state == state, at < limit) for state, at in SINCE.items()))
    async with sessions() as session:
        jobs = list(await session.scalars(select(Job).where(overdue).order_by(Job.id)))
        return [
            StuckJob(
                job.id,
                job.number,
                job.build.repository.slug,
                job.state,
                getattr(job, f"{job.state}_at"),
                job.queue,
                job.worker,
            )
            for job in jobs
        ]


def stuck_check(stuck: list[StuckJob], settings: Settings, grace: timedelta = GRACE) -> Check:
    limit = (
        f"hard_timeout {settings.hard_timeout // 60} min + {int(grace.total_seconds() // 60)} min"
    )
    if not stuck:
        return ok("stuck jobs", f"no job is queued, received or started for longer than {limit}")
    now = utcnow()
    listed = "; ".join(job.describe(now) for job in stuck[:SHOWN])
    more = f"; and {len(stuck) - SHOWN} more" if len(stuck) > SHOWN else ""
    saw = f"{plural(len(stuck), 'job')} past {limit}: {listed}{more}"
    fix = (
        "`roundhouse jobs stuck --requeue` runs them again, `roundhouse jobs stuck --error` "
        "ends them (or `roundhouse doctor --fix requeue|error`)"
    )
    held = any(job.state != "queued" for job in stuck)
    return fail("stuck jobs", saw, fix) if held else warn("stuck jobs", saw, fix)
