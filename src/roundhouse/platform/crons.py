"""Cron builds: each repository branch with a cron is built daily, weekly or monthly as event
type `cron` (TRAVIS_EVENT_TYPE=cron), from the branch's head at that moment.

A cron first runs at the scheduler's next pass after it is made, then one interval after
each run (a platform that was stopped for longer runs it once, not once per missed interval).
With `dont_run_if_recent_build_exists`, a branch built in the last 24 hours is skipped, as on
Travis. Passes run in one platform process at a time (an advisory lock), and a cron's row is
locked and its time checked again before it runs, so two processes never run it twice.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from roundhouse.db.models import Build, Cron, Repository, utcnow
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.locks import leader
from roundhouse.platform.periodic import Periodic
from roundhouse.platform.triggers import Triggers

log = logging.getLogger(__name__)
INTERVALS = ("daily", "weekly", "monthly")
RECENT = timedelta(hours=24)


def advance(at: datetime, interval: str) -> datetime:
    """One interval after `at` (a month keeps the day of the month, or the month's last)."""
    if interval == "daily":
        return at + timedelta(days=1)
    if interval == "weekly":
        return at + timedelta(weeks=1)
    year, month = (at.year + 1, 1) if at.month == 12 else (at.year, at.month + 1)
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


def next_run(previous: datetime, interval: str, now: datetime) -> datetime:
    """The run after the one due at `previous`, never in the past."""
    following = advance(previous, interval)
    return following if following > now else advance(now, interval)


class CronScheduler:
    def __init__(
        self,
        ctx: PlatformContext,
        triggers: Triggers,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.ctx = ctx
        self.triggers = triggers
        self.clock = clock
        self._loop = Periodic("cron pass", self.run_once, lambda: ctx.settings.cron_interval)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def run_once(self) -> list[int]:
        """Run the crons that are due; returns the ids of the requests made."""
        engine: AsyncEngine = self.ctx.sessions.kw["bind"]
        async with leader(engine, "roundhouse:crons") as leading:
            if not leading:
                return []  # another platform process does this pass
            now = self.clock()
            async with self.ctx.sessions() as session:
                due = list(
                    await session.scalars(
                        select(Cron.id)
                        .join(Repository)
                        .where(Cron.next_run_at <= now, Repository.active.is_(True))
                        .order_by(Cron.next_run_at)
                    )
                )
            made = [await self.run(cron_id, now) for cron_id in due]
        return [request_id for request_id in made if request_id is not None]

    async def run(self, cron_id: int, now: datetime) -> int | None:
        """Run one due cron: its request's id, or None when it was skipped or not due."""
        async with self.ctx.sessions() as session, session.begin():
            cron = await session.get(Cron, cron_id, with_for_update={"of": Cron})
            if cron is None or cron.next_run_at > now:
                return None
            cron.last_run_at = now
            cron.next_run_at = next_run(cron.next_run_at, cron.interval, now)
            cron.last_request_id = None
            cron.last_skip_reason = None
            if cron.dont_run_if_recent_build_exists:
                recent = await session.scalar(
                    select(Build.number)
                    .where(
                        Build.repository_id == cron.repository_id,
                        Build.branch == cron.branch,
                        Build.pull_request_number.is_(None),
                        Build.created_at > now - RECENT,
                    )
                    .order_by(Build.id.desc())
                    .limit(1)
                )
                if recent is not None:
                    cron.last_skip_reason = (
                        f"Build #{recent} of {cron.branch} is less than 24 hours old "
                        "(dont_run_if_recent_build_exists)."
                    )
                    return None
            repository_id, branch = cron.repository_id, cron.branch
        request_id = await self.triggers.request_build(
            repository_id, event_type="cron", branch=branch
        )
        async with self.ctx.sessions() as session, session.begin():
            cron = await session.get(Cron, cron_id)
            if cron is not None:
                cron.last_request_id = request_id
        log.info("cron %d: requested a build of %s (request %d)", cron_id, branch, request_id)
        return request_id
