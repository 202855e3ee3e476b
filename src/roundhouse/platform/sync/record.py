"""What a sync found, written down: the user's list of the forge's repositories (what they
may activate), and their roles on the repositories Roundhouse knows from that forge.

A repository is the forge's when its `forge` is that forge and its slug is the forge's slug
(and its API address, when it has one, is the same host). Roles a sync made are changed or
removed by the next sync; roles granted by hand (`roundhouse users grant`) are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import ForgeRepository, Permission, Repository
from roundhouse.platform.sync.common import ForgeRepo


@dataclass
class Recorded:
    """What one forge's sync changed for one user."""

    forge: str
    found: int = 0  # repositories the forge listed
    available: int = 0  # of those, not in Roundhouse yet
    added: int = 0  # roles
    changed: int = 0
    removed: int = 0


def same_api(stored: str | None, api_url: str) -> bool:
    return stored is None or stored.rstrip("/") == api_url.rstrip("/")


async def known_repositories(session: AsyncSession, forge: str, api_url: str) -> dict[str, int]:
    """Roundhouse's repositories of this forge: slug in lower case → id (forges compare
    owner and name without case)."""
    rows = await session.execute(
        select(Repository.slug, Repository.id, Repository.forge_api_url).where(
            Repository.forge == forge
        )
    )
    return {slug.lower(): ident for slug, ident, api in rows if same_api(api, api_url)}


async def _remember(
    session: AsyncSession,
    user_id: int,
    forge: str,
    api_url: str,
    repos: list[ForgeRepo],
    now: datetime,
) -> None:
    """Replace the user's list of this forge's repositories with what the forge listed."""
    rows = await session.scalars(
        select(ForgeRepository).where(
            ForgeRepository.user_id == user_id, ForgeRepository.forge == forge
        )
    )
    stored = {row.slug: row for row in rows}
    for repo in repos:
        row = stored.pop(repo.slug, None)
        if row is None:
            row = ForgeRepository(user_id=user_id, forge=forge, slug=repo.slug)
            session.add(row)
        row.api_url, row.forge_id, row.clone_url = api_url, repo.forge_id, repo.clone_url
        row.web_url, row.default_branch = repo.web_url, repo.default_branch
        row.private, row.role, row.synced_at = repo.private, repo.role, now
    for gone in stored.values():
        await session.delete(gone)


async def record(
    session: AsyncSession,
    user_id: int,
    forge: str,
    api_url: str,
    repos: list[ForgeRepo],
    now: datetime,
) -> Recorded:
    await _remember(session, user_id, forge, api_url, repos, now)
    known = await known_repositories(session, forge, api_url)
    result = Recorded(forge, found=len(repos))
    slugs = {repo.slug.lower(): repo for repo in repos}
    result.available = sum(1 for slug in slugs if slug not in known)
    roles = {known[slug]: repo.role for slug, repo in slugs.items() if slug in known}
    held = {
        p.repository_id: p
        for p in await session.scalars(
            select(Permission).where(
                Permission.user_id == user_id,
                Permission.repository_id.in_(
                    select(Repository.id).where(Repository.forge == forge)
                ),
            )
        )
    }
    for repository_id, role in roles.items():
        permission = held.pop(repository_id, None)
        if permission is None:
            session.add(
                Permission(user_id=user_id, repository_id=repository_id, role=role, synced=True)
            )
            result.added += 1
        elif permission.synced and permission.role != role:
            permission.role = role
            result.changed += 1
    ours = set(known.values())  # the forge's repositories on this host
    for permission in held.values():
        if permission.synced and permission.repository_id in ours:
            await session.delete(permission)
            result.removed += 1
    await session.flush()
    return result
