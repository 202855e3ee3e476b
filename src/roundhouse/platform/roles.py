"""Roles (Travis's model): what a user may do with a repository, and which ones they may see.

pull reads, push also steers builds (trigger, cancel, restart, caches), admin also changes
settings. Instance admins are admin everywhere; owner-level admins are admin of every
repository of that owner; anybody may pull a public repository.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import ColumnElement, exists, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import OwnerAdmin, Permission, Repository, User

Role = Literal["pull", "push", "admin"]
ROLES: tuple[Role, ...] = ("pull", "push", "admin")
PULL: Role = "pull"
PUSH: Role = "push"
ADMIN: Role = "admin"
RANK: dict[str, int] = {role: rank for rank, role in enumerate(ROLES, start=1)}


def owner_of(slug: str) -> str:
    return slug.split("/", 1)[0]


def at_least(role: str | None, minimum: Role) -> bool:
    return role is not None and RANK[role] >= RANK[minimum]


async def role_on(session: AsyncSession, user: User | None, repo: Repository) -> Role | None:
    """The caller's role on the repository; None: they may not even know it exists."""
    fallback: Role | None = None if repo.private else PULL
    if user is None or user.suspended:
        return None if user is not None else fallback
    if user.is_admin:
        return ADMIN
    owner_admin = await session.scalar(
        select(OwnerAdmin.id).where(
            OwnerAdmin.user_id == user.id, OwnerAdmin.owner == owner_of(repo.slug)
        )
    )
    if owner_admin is not None:
        return ADMIN
    granted = await session.scalar(
        select(Permission.role).where(
            Permission.user_id == user.id, Permission.repository_id == repo.id
        )
    )
    if granted in RANK:
        return granted  # type: ignore[return-value]  # checked against the known roles
    return fallback


def readable_by(user: User | None) -> ColumnElement[bool]:
    """A WHERE clause on Repository: the repositories the user may pull."""
    public = Repository.private.is_(False)
    if user is None:
        return public
    if user.suspended:
        return false()
    if user.is_admin:
        return true()
    granted = Repository.id.in_(
        select(Permission.repository_id).where(Permission.user_id == user.id)
    )
    # substr, not LIKE: an owner name may hold "_", which LIKE reads as a wildcard.
    owned = exists(
        select(OwnerAdmin.id).where(
            OwnerAdmin.user_id == user.id,
            func.substr(Repository.slug, 1, func.length(OwnerAdmin.owner) + 1)
            == OwnerAdmin.owner + "/",
        )
    )
    return or_(public, granted, owned)
