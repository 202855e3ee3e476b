"""A finished attempt's log stored on PostgreSQL in one statement: its parts joined in order
where they are (a big log never travels to the platform and back), and then dropped.

The parts of an attempt that is no longer current (a worker that was thought lost), or
whose log is stored already (parts delivered again), are only dropped; those of the current
attempt replace the job's stored log (an earlier attempt's).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import Delete, bindparam, delete, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from roundhouse.db.models import Job, Log, LogPart

JOB = bindparam("p_job", type_=Log.job_id.type)
ATTEMPT = bindparam("p_attempt", type_=Log.attempt.type)


@cache
def _statement() -> Delete:
    joined = func.coalesce(
        func.string_agg(LogPart.content, aggregate_order_by(literal(""), LogPart.number)), ""
    )
    parts = (
        select(joined.label("content"))
        .where(LogPart.job_id == JOB, LogPart.attempt == ATTEMPT)
        .subquery()
    )
    current = exists().where(Job.id == JOB, Job.attempt == ATTEMPT)
    done = exists().where(Log.job_id == JOB, Log.attempt == ATTEMPT)
    insert = pg_insert(Log).from_select(
        ["job_id", "attempt", "content", "size", "aggregated_at"],
        select(
            JOB,
            ATTEMPT,
            parts.c.content,
            func.char_length(parts.c.content),
            bindparam("p_now", type_=Log.aggregated_at.type),
        ).where(current, ~done),
    )
    stored = (
        insert.on_conflict_do_update(
            index_elements=[Log.job_id],
            set_={
                "attempt": insert.excluded.attempt,
                "content": insert.excluded.content,
                "size": insert.excluded.size,
                "aggregated_at": insert.excluded.aggregated_at,
            },
        )
        .returning(Log.job_id)
        .cte("stored")
    )
    # Every part of the job once its log is stored (an older attempt's too), else only these.
    dropped = or_(LogPart.attempt == ATTEMPT, exists(select(stored.c.job_id)))
    return delete(LogPart).where(LogPart.job_id == JOB, dropped).add_cte(stored)


async def join_parts(engine: AsyncEngine, job_id: int, attempt: int, now: datetime) -> None:
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        params = {"p_job": job_id, "p_attempt": attempt, "p_now": now}
        await autocommit.execute(_statement(), params)
