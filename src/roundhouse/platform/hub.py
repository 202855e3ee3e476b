"""The hub: applies job state events, and steers cancel, restart and requeue; the builds
follow their jobs (buildsync.py).

Job states only move forward (created → queued → received → started → finished). Every
event names the attempt's lease: `received` is a worker's claim, granted to the first worker
only (one conditional UPDATE), and answered on worker.commands (ClaimVerdict); any other
event counts only from the worker holding the current lease. A late, repeated or other-lease
event changes nothing, so every event may safely arrive twice, and a worker holding an
attempt the platform gave up on is told to drop it.

Several platform processes may run the hub; the state queue has a single active consumer, so
events are applied in the order workers sent them, and row locks guard the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from roundhouse.broker import Delivery, Subscription
from roundhouse.db.models import Build, Job, JobTransition, Worker, utcnow
from roundhouse.platform.buildsync import BuildSync
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.logs import LogService
from roundhouse.platform.scheduler import Scheduler
from roundhouse.platform.transitions import advance, claim, forward
from roundhouse.platform.workers import protocol_problem, tell_worker
from roundhouse.protocol import (
    COMMAND_EXCHANGE,
    FINISHED_STATES,
    PROTOCOL_VERSION,
    STATE_QUEUE,
    ClaimVerdict,
)

log = logging.getLogger(__name__)
# The unfinished states in order; every finished state ranks after them (4).
ORDER = {"created": 0, "queued": 1, "received": 2, "started": 3}
TIMESTAMP = {"received": "received_at", "started": "started_at"}
HELD_STATES = ("received", "started")
# An attempt lost this many times (worker gone, worker stopped) errors the job instead.
MAX_ATTEMPTS = 3
# Events applied at once; those of one job always one after the other, in order.
EVENTS_AT_ONCE = 16
RETRY_PAUSE = 1.0  # seconds before an event that met an unreachable database is tried again
YELLOW, RED, RESET = "\033[33;1m", "\033[31;1m", "\033[0m"


@dataclass(frozen=True)
class StateUpdate:
    """One event from reporting.jobs.builds."""

    job_id: int
    attempt: int
    lease: str
    state: str
    worker: str
    at: datetime


class Hub:
    def __init__(self, ctx: PlatformContext, scheduler: Scheduler, logs: LogService) -> None:
        self.ctx = ctx
        self.scheduler = scheduler
        self.logs = logs
        self.builds = BuildSync(ctx, scheduler)
        self._subscription: Subscription | None = None
        self._lanes: dict[int, asyncio.Lock] = {}
        self._lane_users: Counter[int] = Counter()

    async def start(self) -> None:
        self._subscription = await self.ctx.broker.consume(
            STATE_QUEUE, self._on_event, EVENTS_AT_ONCE
        )

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.cancel()

    # -- events from workers ------------------------------------------------------------------

    async def _on_event(self, delivery: Delivery) -> None:
        body = delivery.body
        job_id = body.get("job_id")
        if not isinstance(job_id, int):
            log.error("ignored a state event without a job id: %r", body)
            await delivery.ack_unless_lost()
            return
        # Deliveries start their handlers in the order they came: taking the job's lane
        # first thing keeps one job's events in that order.
        lane = self._lanes.setdefault(job_id, asyncio.Lock())
        self._lane_users[job_id] += 1
        try:
            async with lane:
                # Tried again in place while the database is unreachable, so that the job's
                # later events still come after this one.
                while not await self._handle(body):
                    await asyncio.sleep(RETRY_PAUSE)
        finally:
            self._lane_users[job_id] -= 1
            if not self._lane_users[job_id]:
                del self._lane_users[job_id]
                del self._lanes[job_id]
        await delivery.ack_unless_lost()

    async def _handle(self, body: dict[str, object]) -> bool:
        """Apply one event; False if it must be tried again later (database unreachable)."""
        problem = protocol_problem(body.get("v"))
        if problem:
            await tell_worker(self.ctx, str(body.get("worker")), problem)
            return True
        try:
            at = body.get("at")
            event = StateUpdate(
                int(str(body["job_id"])),
                int(str(body["attempt"])),
                str(body.get("lease") or ""),
                str(body["state"]),
                str(body.get("worker") or ""),
                datetime.fromisoformat(str(at)) if at else utcnow(),
            )
            await self.apply(event)
        except (OperationalError, InterfaceError) as error:
            log.error("cannot apply %r now (database: %s); it waits on the queue", body, error)
            return False
        except Exception:
            log.exception("hub could not apply %r; dropped", body)
        return True

    async def apply(self, event: StateUpdate) -> bool:
        """Apply one state event; returns False when it changed nothing."""
        if event.state == "received":
            return await self._claim(event)
        if event.state == "requeued":
            why = f"worker {event.worker} was stopped before the job finished"
            return await self.requeue(event.job_id, why, lease=event.lease)
        earlier = [state for state, rank in ORDER.items() if rank < ORDER.get(event.state, 4)]
        stamped = [TIMESTAMP[event.state]] if event.state in TIMESTAMP else []
        if event.state in FINISHED_STATES:
            stamped.append("finished_at")
        # Applied only by the lease's holder, only forward.
        changed = await advance(
            self.ctx, forward(tuple(stamped)), p_earlier=earlier, **self._params(event)
        )
        if changed is not None:
            outcome, reason, state = "applied", "", event.state
            build_id = int(changed.build_id)
        else:
            async with self.ctx.sessions() as session:
                job = await session.get(Job, event.job_id, options=[lazyload(Job.build)])
            if job is None or job.lease != event.lease or job.worker != event.worker:
                outcome, reason = "not yours", _not_yours(job, event)
            elif job.state == event.state:
                # A repeat: the first copy's follow-up may have been cut short (a platform
                # killed between the two), so it is done again; it is idempotent.
                outcome, reason = "repeated", ""
            else:
                outcome, reason = "late", ""
            build_id, state = (job.build_id, job.state) if job is not None else (0, "")
        if changed is not None:
            for listener in self.ctx.job_listeners:
                listener(changed)
        if outcome in ("applied", "repeated"):
            await self.builds.job_changed(build_id, event.job_id, state)
        elif outcome == "not yours":
            await self._verdict(event, granted=False, reason=reason)
        elif state == "canceled" and event.state == "started":
            # Canceled meanwhile, and the worker may have missed the word: say it again.
            await self._broadcast_cancel(event.job_id, event.attempt)
        return outcome == "applied"

    async def _claim(self, event: StateUpdate) -> bool:
        """Grant the attempt to the first worker that claims it; tell the claimant either way.
        A worker the platform found a problem with (wrong token, protocol) gets nothing: the
        claim's own statement checks that, so a granted claim stays one round trip."""
        claimed = await advance(self.ctx, claim(), p_now=utcnow(), **self._params(event))
        won = None if claimed is None else int(claimed.build_id)
        reason = ""
        if won is None:
            async with self.ctx.sessions() as session:
                problem = await session.scalar(
                    select(Worker.problem).where(Worker.name == event.worker)
                )
                job = await session.get(Job, event.job_id)
            holds = (
                job is not None
                and job.lease == event.lease
                and job.worker == event.worker
                and job.state in HELD_STATES
            )
            reason = problem or ("" if holds else _not_yours(job, event))
        await self._verdict(event, granted=not reason, reason=reason or "yours")
        if won is not None:
            await self.builds.job_changed(won, event.job_id, "received")
        return won is not None

    @staticmethod
    def _params(event: StateUpdate) -> dict[str, object]:
        return {
            "p_job_id": event.job_id,
            "p_attempt": event.attempt,
            "p_lease": event.lease,
            "p_state": event.state,
            "p_worker": event.worker,
            "p_at": event.at,
        }

    async def _verdict(self, event: StateUpdate, *, granted: bool, reason: str) -> None:
        verdict: ClaimVerdict = {
            "v": PROTOCOL_VERSION,
            "claim": event.job_id,
            "lease": event.lease,
            "worker": event.worker,
            "granted": granted,
            "reason": reason,
        }
        await self.ctx.broker.broadcast(COMMAND_EXCHANGE, dict(verdict))

    async def _broadcast_cancel(self, job_id: int, attempt: int) -> None:
        await self.ctx.broker.broadcast(
            COMMAND_EXCHANGE, {"v": PROTOCOL_VERSION, "cancel": job_id, "attempt": attempt}
        )

    @staticmethod
    def _enter(
        session: AsyncSession, job: Job, state: str, worker: str | None, at: datetime
    ) -> None:
        """Move job to state (already checked to be forward) and record the transition."""
        job.state = state
        if state in TIMESTAMP:
            setattr(job, TIMESTAMP[state], at)
        if state in FINISHED_STATES:
            job.finished_at = at
        job.waiting_reason = None
        session.add(
            JobTransition(job_id=job.id, attempt=job.attempt, state=state, worker=worker, at=at)
        )

    # -- steering -----------------------------------------------------------------------------

    async def cancel_job(self, job_id: int) -> bool:
        async with self.ctx.sessions() as session, session.begin():
            job = await _locked_job(session, job_id)
            if job is None or job.state in FINISHED_STATES:
                return False
            self._enter(session, job, "canceled", None, utcnow())
            build_id, attempt = job.build_id, job.attempt
        await self._broadcast_cancel(job_id, attempt)
        await self.builds.job_changed(build_id, job_id, "canceled")
        return True

    async def cancel_build(self, build_id: int) -> int:
        async with self.ctx.sessions() as session:
            ids = list(await session.scalars(select(Job.id).where(Job.build_id == build_id)))
        canceled = [job_id for job_id in ids if await self.cancel_job(job_id)]
        return len(canceled)

    async def restart_job(self, job_id: int) -> bool:
        """A new attempt of a finished job; the build becomes unfinished again."""
        async with self.ctx.sessions() as session, session.begin():
            job = await _locked_job(session, job_id)
            if job is None or job.state not in FINISHED_STATES:
                return False
            _new_attempt(session, job)
            build = await session.get(Build, job.build_id, with_for_update={"of": Build})
            assert build is not None
            build.state, build.finished_at = "created", None
            build_id = build.id
        self.ctx.build_changed(build_id, "created")
        await self.scheduler.schedule(build_id)
        await self.builds.job_changed(build_id, job_id, "created")
        return True

    async def restart_build(self, build_id: int) -> int:
        async with self.ctx.sessions() as session:
            ids = list(await session.scalars(select(Job.id).where(Job.build_id == build_id)))
        return len([job_id for job_id in ids if await self.restart_job(job_id)])

    async def error_job(self, job_id: int, why: str) -> bool:
        """End an unfinished job as errored (an operator gave up on it, `roundhouse jobs
        stuck --error`); a worker still running it is told to stop."""
        async with self.ctx.sessions() as session, session.begin():
            job = await _locked_job(session, job_id)
            if job is None or job.state in FINISHED_STATES:
                return False
            self._enter(session, job, "errored", None, utcnow())
            build_id, attempt = job.build_id, job.attempt
        await self.logs.add_note(job_id, attempt, f"\n{RED}{why}{RESET}\n", final=True)
        await self._broadcast_cancel(job_id, attempt)
        await self.builds.job_changed(build_id, job_id, "errored")
        return True

    async def requeue(self, job_id: int, why: str, *, lease: str | None = None) -> bool:
        """End a held attempt that did not finish (its worker was lost or stopped): run a new
        one, or error the job after MAX_ATTEMPTS. With lease, only if that is still current."""
        async with self.ctx.sessions() as session, session.begin():
            job = await _locked_job(session, job_id)
            if job is None or job.state not in HELD_STATES or lease not in (None, job.lease):
                return False
            lost_attempt = job.attempt
            if lost_attempt >= MAX_ATTEMPTS:
                self._enter(session, job, "errored", None, utcnow())
            else:
                _new_attempt(session, job)
            build_id, state = job.build_id, job.state
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
        await self.builds.job_changed(build_id, job_id, state)
        return True


async def _locked_job(session: AsyncSession, job_id: int) -> Job | None:
    """The job, its row locked until the transaction ends (its build is not loaded)."""
    return await session.get(
        Job, job_id, with_for_update={"of": Job}, options=[lazyload(Job.build)]
    )


def _new_attempt(session: AsyncSession, job: Job) -> None:
    job.attempt += 1
    job.state, job.worker, job.lease, job.waiting_reason = "created", None, None, None
    job.queued_at = job.received_at = job.started_at = job.finished_at = None
    job.lease_renewed_at = job.published_at = None
    session.add(JobTransition(job_id=job.id, attempt=job.attempt, state="created"))


def _not_yours(job: Job | None, event: StateUpdate) -> str:
    """Why the worker of event does not hold the attempt it names."""
    if job is None:
        return "the job no longer exists"
    if job.lease != event.lease:
        if job.attempt > event.attempt:
            return f"attempt {event.attempt} is over; the platform runs attempt {job.attempt}"
        return "this copy of the job is out of date"
    if job.state in FINISHED_STATES:
        return f"the job is {job.state}"
    if job.worker and job.worker != event.worker:
        return f"worker {job.worker} runs it"
    return f"the job is {job.state}"
