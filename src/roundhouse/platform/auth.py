"""API tokens: the admin account and its token file, token checks, listing and revoking.

Tokens are random; only their SHA-256 is stored, so a database dump reveals none.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import ApiToken, User, utcnow
from roundhouse.tokenfile import ADMIN_TOKEN_FILE

ADMIN_LOGIN = "admin"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(24)


async def create_token(session: AsyncSession, user: User, name: str) -> str:
    token = new_token()
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), name=name))
    await session.flush()
    return token


async def ensure_admin(session: AsyncSession, data_dir: Path) -> str:
    """Create the admin account and token file on first start; return the admin token."""
    token_file = data_dir / ADMIN_TOKEN_FILE
    admin = await session.scalar(select(User).where(User.login == ADMIN_LOGIN))
    if admin is not None and token_file.exists():
        token = token_file.read_text().strip()
        if await session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token))):
            return token
    if admin is None:
        admin = User(login=ADMIN_LOGIN, name="Administrator", is_admin=True)
        session.add(admin)
        await session.flush()
    token = await create_token(session, admin, "admin-token")
    data_dir.mkdir(parents=True, exist_ok=True)
    token_file.touch(mode=0o600)
    token_file.chmod(0o600)
    token_file.write_text(token + "\n")
    return token


async def user_for_token(session: AsyncSession, token: str) -> User | None:
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.user.suspended:
        return None
    # Recorded at minute granularity so reading the API does not write on every call.
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
    return row.user


async def tokens_of(session: AsyncSession, user: User) -> list[ApiToken]:
    return list(
        await session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
        )
    )


async def revoke_token(session: AsyncSession, user: User, token_id: int) -> bool:
    """Delete one of the user's tokens; False when they have none of that id."""
    row = await session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        return False
    await session.delete(row)
    return True
