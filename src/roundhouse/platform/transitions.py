"""A job's forward move written with its transition row: on PostgreSQL one statement (a
data-modifying CTE, atomic by itself), elsewhere one transaction of two statements.

The hub writes one for nearly every state event, so this path skips the ORM's unit of work
and, on PostgreSQL, the BEGIN and COMMIT round trips of an explicit transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import InstrumentedAttribute

from roundhouse.db.models import Job, JobTransition
from roundhouse.platform.context import PlatformContext


def engine_of(ctx: PlatformContext) -> AsyncEngine:
    engine = ctx.sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    return engine


async def advance(
    ctx: PlatformContext,
    job_id: int,
    where: Sequence[ColumnElement[bool]],
    values: dict[str, Any],
    returning: Sequence[InstrumentedAttribute[Any]],
    *,
    attempt: int,
    worker: str | None,
    at: datetime,
) -> Row[Any] | None:
    """Set values (with values["state"]) on the job if the conditions in where hold, and
    record the transition; returns the job's id and the returning columns, or None if the
    conditions did not hold."""
    change = update(Job).where(Job.id == job_id, *where).values(**values)
    change = change.returning(Job.id, *returning)
    state = str(values["state"])
    engine = engine_of(ctx)
    note = {"attempt": attempt, "state": state, "worker": worker, "at": at}
    if engine.dialect.name != "postgresql":
        async with engine.begin() as connection:
            row = (await connection.execute(change)).first()
            if row is not None:
                await connection.execute(insert(JobTransition).values(job_id=row[0], **note))
            return row
    changed = change.cte("changed")
    noted = insert(JobTransition).from_select(
        ["job_id", *note],
        select(
            changed.c.id,
            literal(attempt),
            literal(state),
            literal(worker, JobTransition.worker.type),
            literal(at, JobTransition.at.type),
        ),
    )
    statement = select(changed).add_cte(noted.cte("noted"))
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        return (await autocommit.execute(statement)).first()
