"""Aggregating a finished attempt's log parts into its stored log, on SQLite and PostgreSQL:
joined in part order whatever order they were stored in, counted in characters, stored again
over an earlier attempt's log, and the parts removed; a lost attempt's parts, and parts of a
stored attempt delivered again, only dropped.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from roundhouse.db.models import Job, Log, LogPart
from tests.conftest import GitRepo, Running


async def test_aggregate_joins_parts_in_order(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": "language: shell\nscript: echo hi\n"})
    slug = (await system.add_repo(repo))["slug"]
    build_id = await system.build_of(slug, await system.trigger(slug))
    build = await system.finished_build(build_id)
    job_id = build["jobs"][0]["id"]
    services = system.instance.services
    async with services.ctx.sessions() as session, session.begin():
        job = await session.get(Job, job_id)
        assert job is not None
        job.attempt = 2  # as if restarted: the stored log is attempt 1's
        # Stored out of order, with multi-byte text, and a stale attempt's part.
        for number, content in [(2, "drei ✓\n"), (0, "eins "), (1, "zwei "), (-1, "note\n")]:
            session.add(LogPart(job_id=job_id, attempt=2, number=number, content=content))
        session.add(LogPart(job_id=job_id, attempt=1, number=9, content="stale\n"))

    await services.logs.aggregate(job_id, 2)

    async with services.ctx.sessions() as session:
        stored = await session.get(Log, job_id)
        left = await session.scalar(
            select(func.count()).select_from(LogPart).where(LogPart.job_id == job_id)
        )
    assert stored is not None
    assert (stored.attempt, stored.content) == (2, "note\neins zwei drei ✓\n")
    assert stored.size == len("note\neins zwei drei ✓\n")
    assert left == 0
    assert await system.log(job_id) == "note\neins zwei drei ✓\n"

    # Parts of attempt 2 delivered again (a platform stopped before its ack) are dropped.
    async with services.ctx.sessions() as session, session.begin():
        session.add(LogPart(job_id=job_id, attempt=2, number=2, content="drei ✓\n", final=True))
    await services.logs.aggregate(job_id, 2)
    assert await system.log(job_id) == "note\neins zwei drei ✓\n"

    # A late part of the lost attempt 1 is dropped on its own: the stored log stays.
    async with services.ctx.sessions() as session, session.begin():
        session.add(LogPart(job_id=job_id, attempt=1, number=10, content="late\n"))
        session.add(LogPart(job_id=job_id, attempt=2, number=3, content="later\n"))
    await services.logs.aggregate(job_id, 1)
    async with services.ctx.sessions() as session:
        stored = await session.get(Log, job_id)
        left_parts = list(await session.scalars(select(LogPart.content)))
    assert stored is not None
    assert (stored.attempt, stored.content) == (2, "note\neins zwei drei ✓\n")
    assert left_parts == ["later\n"]
