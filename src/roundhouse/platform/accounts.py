"""Local accounts: creating users, argon2 password hashes, signing in with a password, and
forge accounts (OAuth identities) created or linked on first login.

A failed login says only that login and password do not match, whichever of the two is wrong.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import Identity, User

LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MIN_PASSWORD = 8
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the login is unknown, so both failures take the same time.
    Made at the first login attempt, whoever it is for (so that one is slow either way):
    a hash costs ~140 ms of CPU, which every process importing this module paid at start."""
    return _hasher.hash("not a password of anybody")


class AccountError(Exception):
    """A user cannot be created or changed as asked; the text is one sentence."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"A password needs at least {MIN_PASSWORD} characters.")
    return _hasher.hash(password)


def password_matches(user: User | None, password: str) -> bool:
    dummy = _dummy_hash()
    stored = user.password_hash if user is not None else None
    try:
        _hasher.verify(stored or dummy, password)
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


async def find_user(session: AsyncSession, login: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.login) == login.lower()))


async def create_user(
    session: AsyncSession,
    login: str,
    *,
    password: str | None = None,
    admin: bool = False,
    name: str = "",
    email: str = "",
) -> User:
    if not LOGIN.match(login):
        raise AccountError(
            f"{login!r} is not a login: use letters, digits, '.', '_' and '-' (at most 100)."
        )
    if await find_user(session, login) is not None:
        raise AccountError(f"A user {login!r} exists already.")
    user = User(login=login, name=name, email=email, is_admin=admin)
    if password is not None:
        user.password_hash = hash_password(password)
    session.add(user)
    await session.flush()
    return user


async def authenticate(session: AsyncSession, login: str, password: str) -> User | None:
    """The user if the password is theirs and they are not suspended."""
    user = await find_user(session, login)
    if not password_matches(user, password) or user is None or user.suspended:
        return None
    if _hasher.check_needs_rehash(user.password_hash or ""):
        user.password_hash = _hasher.hash(password)  # argon2's parameters were raised
    return user


@dataclass(frozen=True)
class ForgeAccount:
    """Who the forge says signed in (its user API's answer)."""

    provider: str
    external_id: str
    login: str
    name: str = ""
    email: str = ""
    # The OAuth tokens the login got (never shown; stored encrypted by the caller).
    access_token: str = field(default="", repr=False)
    refresh_token: str | None = field(default=None, repr=False)


async def user_for_forge_account(
    session: AsyncSession,
    account: ForgeAccount,
    signed_in: User | None,
    token_sealed: str | None = None,
    refresh_sealed: str | None = None,
) -> User:
    """The user this forge account belongs to: the one it was linked to before, else the
    signed-in user (linking it), else a new user named after the forge login. The identity
    keeps the encrypted access and refresh tokens when given, for the code-host sync."""
    identity = await session.scalar(
        select(Identity).where(
            Identity.provider == account.provider, Identity.external_id == account.external_id
        )
    )
    if identity is not None:
        identity.login = account.login  # renamed on the forge
        if token_sealed is not None:
            identity.token_sealed, identity.refresh_sealed = token_sealed, refresh_sealed
        user = await session.get(User, identity.user_id)
        assert user is not None  # the foreign key cascades
        return user
    user = signed_in or await create_user(
        session,
        await _free_login(session, account),
        name=account.name,
        email=account.email,
    )
    session.add(
        Identity(
            user_id=user.id,
            provider=account.provider,
            external_id=account.external_id,
            login=account.login,
            token_sealed=token_sealed,
            refresh_sealed=refresh_sealed,
        )
    )
    await session.flush()
    return user


async def _free_login(session: AsyncSession, account: ForgeAccount) -> str:
    """The forge login, or login-forge (then login-forge-2, …) when that is taken here:
    an existing local account of that name is somebody else until they link it themselves."""
    base = re.sub(r"[^A-Za-z0-9_.-]", "-", account.login)[:80] or "user"
    candidates = [base, f"{base}-{account.provider}"]
    candidates += [f"{base}-{account.provider}-{n}" for n in range(2, 100)]
    for login in candidates:
        if await find_user(session, login) is None:
            return login
    raise AccountError(f"No free login for {account.login!r} from {account.provider}.")


async def suspended_sender(
    session: AsyncSession, sender: str | None, event_type: str, forge: str | None
) -> bool:
    """Whether a request comes from a suspended user: by login when it came through the API,
    by the forge account linked to them when a webhook brought it."""
    if not sender:
        return False
    if event_type == "api":
        user = await find_user(session, sender)
        return user is not None and user.suspended
    if forge is None:
        return False
    found = await session.scalar(
        select(User.id)
        .join(Identity, Identity.user_id == User.id)
        .where(
            Identity.provider == forge,
            func.lower(Identity.login) == sender.lower(),
            User.suspended.is_(True),
        )
    )
    return found is not None
