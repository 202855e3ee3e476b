"""What the repository tabs show, read with queries that stay fast at 10,000 builds a
repository: a page of the build history, the last build of each branch and of each pull request.

Builds are ordered by number within their repository (the unique index on repository and
number serves that); the last build per branch or pull request uses ix_builds_repo_branch and
ix_builds_repo_pull_request (migration 0008_ui_indexes).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import Build
from roundhouse.platform.api import serialize

PAGE_SIZE = 25


async def build_page(
    session: AsyncSession, repository_id: int, page: int, public_url: str
) -> dict[str, Any]:
    """{"builds": [build…], "page", "pages", "total"}; page 1 holds the newest builds. A page
    past the last one gives the last one."""
    total = await session.scalar(select(func.count()).where(Build.repository_id == repository_id))
    pages = max(1, -(-(total or 0) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = await session.scalars(
        select(Build)
        .where(Build.repository_id == repository_id)
        .order_by(Build.number.desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    builds = [serialize.build(b, public_url) for b in rows]
    return {"builds": builds, "page": page, "pages": pages, "total": total or 0}


async def _last_builds(
    session: AsyncSession,
    repository_id: int,
    page: int,
    key: Any,
    *where: ColumnElement[bool],
) -> tuple[list[Build], int, int]:
    """The newest build for each value of `key`, newest first, a page of them at a time:
    (builds, page, pages)."""
    groups = (
        select(func.max(Build.number).label("last"))
        .where(Build.repository_id == repository_id, key.is_not(None), *where)
        .group_by(key)
    )
    total = await session.scalar(select(func.count()).select_from(groups.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    numbers = groups.order_by(func.max(Build.number).desc()).offset((page - 1) * PAGE_SIZE)
    rows = await session.scalars(
        select(Build)
        .where(
            Build.repository_id == repository_id,
            Build.number.in_(numbers.limit(PAGE_SIZE).scalar_subquery()),
        )
        .order_by(Build.number.desc())
    )
    return list(rows), page, pages


async def branches(
    session: AsyncSession, repository_id: int, page: int, public_url: str
) -> dict[str, Any]:
    """The last build of each branch that was pushed (pull requests and tags left out):
    {"builds", "page", "pages"}."""
    rows, page, pages = await _last_builds(
        session,
        repository_id,
        page,
        Build.branch,
        Build.pull_request_number.is_(None),
        Build.tag.is_(None),
    )
    return {"builds": [serialize.build(b, public_url) for b in rows], "page": page, "pages": pages}


async def pull_requests(
    session: AsyncSession, repository_id: int, page: int, public_url: str
) -> dict[str, Any]:
    """The last build of each pull request: {"builds", "page", "pages"}."""
    rows, page, pages = await _last_builds(session, repository_id, page, Build.pull_request_number)
    return {"builds": [serialize.build(b, public_url) for b in rows], "page": page, "pages": pages}
