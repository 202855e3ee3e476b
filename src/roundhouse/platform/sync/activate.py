"""Activation by a user's choice: a repository their last sync found on a forge becomes a
Roundhouse repository (its clone URL, forge and private flag), with them as its admin.

Only an admin of the repository on the forge may activate it, asked of the forge at that
moment (a role recorded by an older sync may be gone). Everybody whose sync found the same
repository gets their forge role on it at once, not at their next sync.
"""

from __future__ import annotations

import re
from datetime import datetime

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import ForgeRepository, Identity, Permission, Repository, User, utcnow
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.oauth import provider
from roundhouse.platform.sync.common import ForgeRepo, SignInAgain, SyncError, one_repository
from roundhouse.platform.sync.record import known_repositories
from roundhouse.platform.sync.runner import APIS, no_forge_login
from roundhouse.platform.sync.tokens import with_token

# Roundhouse's slugs are owner/name (its pages are /{owner}/{name}).
SLUG = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class Refused(Exception):
    """Activation refused: an HTTP status and one sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _found(session: AsyncSession, user: User, row_id: int) -> ForgeRepository:
    row = await session.scalar(
        select(ForgeRepository).where(
            ForgeRepository.id == row_id, ForgeRepository.user_id == user.id
        )
    )
    if row is None:
        raise Refused(
            404,
            f"Your last sync found no repository {row_id}; `roundhouse repo available` lists"
            " what it found.",
        )
    taken = await session.scalar(
        select(Repository.id).where(func.lower(Repository.slug) == row.slug.lower())
    )
    if taken is not None:
        ours = row.slug.lower() in await known_repositories(session, row.forge, row.api_url)
        raise Refused(
            409,
            f"{row.slug} is active already."
            if ours
            else f"Another repository is called {row.slug} here already; it is not activated.",
        )
    if not SLUG.match(row.slug):
        raise Refused(
            422,
            f"{row.slug} is not of the form owner/name that Roundhouse's repositories have; add"
            " it with `roundhouse repo add URL --slug owner/name` instead.",
        )
    return row


async def _as_forge_sees_it(
    ctx: PlatformContext, http: httpx.AsyncClient, user: User, row: ForgeRepository
) -> ForgeRepo:
    api, app = APIS[row.forge], provider(ctx.settings, row.forge)
    async with ctx.sessions() as session:
        identity = await session.scalar(
            select(Identity).where(
                Identity.user_id == user.id,
                Identity.provider == row.forge,
                Identity.token_sealed.is_not(None),
            )
        )
    if identity is None or app is None:
        raise Refused(409, no_forge_login(user.login))
    try:
        now = await with_token(
            ctx,
            identity,
            app,
            api,
            lambda token: one_repository(http, api, app.api_url, token, row.slug),
        )
    except SignInAgain as error:
        raise Refused(409, str(error)) from None
    except SyncError as error:
        raise Refused(502, str(error)) from None
    if now is None:
        raise Refused(403, f"{api.title} does not show {row.slug} to you any more.")
    if now.role != "admin":
        raise Refused(
            403,
            f"Activating {row.slug} needs admin permission on it at {api.title}; you have"
            f" {now.role} there.",
        )
    return now


async def activate(
    ctx: PlatformContext, http: httpx.AsyncClient, user: User, row_id: int
) -> Repository:
    async with ctx.sessions() as session:
        row = await _found(session, user, row_id)
    live = await _as_forge_sees_it(ctx, http, user, row)
    async with ctx.sessions() as session, session.begin():
        row = await _found(session, user, row_id)  # again: another activation may have won
        repository = Repository(
            slug=row.slug,
            url=live.clone_url,
            private=live.private,
            forge=row.forge,
            forge_api_url=row.api_url,
            default_branch=live.default_branch,
            # Polled until a webhook is set up; the first poll only records the branches.
            poll=True,
            branch_heads={},
        )
        session.add(repository)
        await session.flush()
        await _grant_found_roles(session, repository, row, user.id, utcnow())
    return repository


async def _grant_found_roles(
    session: AsyncSession, repository: Repository, row: ForgeRepository, user_id: int, now: datetime
) -> None:
    """The activating user is admin; the others whose sync found it get their forge role."""
    row.private, row.synced_at = repository.private, now
    row.role = "admin"
    session.add(Permission(user_id=user_id, repository_id=repository.id, role="admin", synced=True))
    others = await session.scalars(
        select(ForgeRepository).where(
            ForgeRepository.forge == row.forge,
            ForgeRepository.slug == row.slug,
            ForgeRepository.api_url == row.api_url,
            ForgeRepository.user_id != user_id,
        )
    )
    for other in others:
        session.add(
            Permission(
                user_id=other.user_id, repository_id=repository.id, role=other.role, synced=True
            )
        )
