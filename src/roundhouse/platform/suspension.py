"""Suspended users: their API tokens stop working at once (platform/auth.py; the API answers
403 saying why) and the requests they send (pushes, pull requests, API triggers) are turned
away by the gatekeeper.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import ApiToken, User
from roundhouse.platform.auth import hash_token


async def suspended_owner(session: AsyncSession, token: str) -> str | None:
    """The login of the suspended user `token` belongs to, if it does."""
    found: str | None = await session.scalar(
        select(User.login)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(token), User.suspended.is_(True))
    )
    return found


async def suspended_reason(session: AsyncSession, sender: str | None) -> str | None:
    """Why a request from `sender` does not build, when `sender` is a suspended user."""
    if not sender:
        return None
    found = await session.scalar(
        select(User.id).where(User.login == sender, User.suspended.is_(True))
    )
    if found is None:
        return None
    return (
        f"{sender} is suspended on this Roundhouse, so their requests do not build; an"
        f" administrator can lift it with `roundhouse users unsuspend {sender}`."
    )
