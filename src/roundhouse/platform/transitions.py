"""A job's forward move written with its transition row: on PostgreSQL one statement (a
data-modifying CTE, atomic by itself), elsewhere one transaction of two statements.

The hub writes one for nearly every state event, so this path skips the ORM's unit of work,
builds each statement once (bound parameters, compiled once), and on PostgreSQL also skips
the BEGIN and COMMIT round trips of an explicit transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Row,
    Select,
    Update,
    bindparam,
    exists,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from roundhouse.db.models import Job, JobTransition, Worker
from roundhouse.platform.context import PlatformContext

# What the hub and its listeners need of a job it moved.
MOVED = (Job.id, Job.build_id, Job.state, Job.queue, Job.queued_at, Job.started_at, Job.finished_at)


@dataclass(frozen=True)
class Move:
    """One kind of move: the UPDATE (RETURNING the job's id first), the transition's INSERT,
    and both as one statement. Parameters (prefixed, as column names are taken): p_job_id,
    p_attempt, p_state, p_worker, p_at, and those of the conditions."""

    change: Update
    note: Insert
    both: Select[Any]


def _move(change: Update) -> Move:
    note = insert(JobTransition).values(
        job_id=bindparam("p_job_id"),
        attempt=bindparam("p_attempt"),
        state=bindparam("p_state"),
        worker=bindparam("p_worker"),
        at=bindparam("p_at", type_=JobTransition.at.type),
    )
    changed = change.cte("changed")
    noted = insert(JobTransition).from_select(
        ["job_id", "attempt", "state", "worker", "at"],
        select(
            changed.c.id,
            bindparam("p_attempt", type_=JobTransition.attempt.type),
            bindparam("p_state", type_=JobTransition.state.type),
            bindparam("p_worker", type_=JobTransition.worker.type),
            bindparam("p_at", type_=JobTransition.at.type),
        ),
    )
    return Move(change, note, select(changed).add_cte(noted.cte("noted")))


def _update(*where: ColumnElement[bool], **values: Any) -> Update:
    """The job (p_job_id) to p_state, if the conditions hold; its waiting reason is over."""
    return (
        update(Job)
        .where(Job.id == bindparam("p_job_id"), *where)
        .values(state=bindparam("p_state"), waiting_reason=None, **values)
        .returning(*MOVED)
    )


@cache
def claim() -> Move:
    """`queued` → `received` by the attempt's first claimant, unless the platform found a
    problem with that worker (wrong token, protocol); also needs p_lease and p_now."""
    troubled = exists().where(Worker.name == bindparam("p_worker"), Worker.problem.is_not(None))
    return _move(
        _update(
            Job.attempt == bindparam("p_attempt"),
            Job.lease == bindparam("p_lease"),
            Job.state == "queued",
            ~troubled,
            worker=bindparam("p_worker"),
            received_at=bindparam("p_at"),
            lease_renewed_at=bindparam("p_now"),
        )
    )


@cache
def forward(stamped: tuple[str, ...]) -> Move:
    """Any later move by the lease's holder, from one of p_earlier (a list); the columns
    named in stamped are set to p_at; also needs p_lease."""
    return _move(
        _update(
            Job.lease == bindparam("p_lease"),
            Job.worker == bindparam("p_worker"),
            Job.state.in_(bindparam("p_earlier", expanding=True)),
            **{column: bindparam("p_at") for column in stamped},
        )
    )


def engine_of(ctx: PlatformContext) -> AsyncEngine:
    engine = ctx.sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    return engine


async def advance(ctx: PlatformContext, move: Move, **params: Any) -> Row[Any] | None:
    """Make the move if its conditions hold, recording the transition; the job's MOVED
    columns, or None if the conditions did not hold."""
    engine = engine_of(ctx)
    if engine.dialect.name != "postgresql":
        async with engine.begin() as connection:
            row = (await connection.execute(move.change, params)).first()
            if row is not None:
                await connection.execute(move.note, params)
            return row
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        return (await autocommit.execute(move.both, params)).first()
