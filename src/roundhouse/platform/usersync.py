"""The code-host sync of a user (their repositories and permissions) as a lease that expires.

A sync takes the lease (begin_sync), renews it while it runs (renew_sync), and gives it back
with its outcome (finish_sync). A sync that crashed never gives it back: the reconciler's
pass resets leases past their expiry (reset_stale_syncs), so nobody stays "syncing" for ever,
and `roundhouse doctor` reports the ones no pass has reset yet (stuck_syncs). Every function
takes `now`, so tests choose the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import User

SYNC_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class StuckSync:
    login: str
    started_at: datetime | None
    lease_expires_at: datetime


def sync_state(user: User, now: datetime) -> str:
    """syncing, stale (lease expired, not reset yet), requested, failed, synced or never."""
    if user.sync_lease_expires_at is not None:
        return "syncing" if user.sync_lease_expires_at > now else "stale"
    if user.sync_requested_at is not None and (
        user.synced_at is None or user.sync_requested_at > user.synced_at
    ):
        return "requested"
    if user.sync_error:
        return "failed"
    return "synced" if user.synced_at is not None else "never"


async def begin_sync(
    session: AsyncSession, user_id: int, now: datetime, lease: timedelta = SYNC_LEASE
) -> bool:
    """Take the user's sync lease if it is free or expired; whether it was taken. One UPDATE,
    so two platform processes never both get it."""
    taken = await session.execute(
        update(User)
        .where(
            User.id == user_id,
            or_(User.sync_lease_expires_at.is_(None), User.sync_lease_expires_at <= now),
        )
        .values(sync_started_at=now, sync_lease_expires_at=now + lease)
    )
    return bool(getattr(taken, "rowcount", 0))


async def renew_sync(
    session: AsyncSession,
    user_id: int,
    started_at: datetime,
    now: datetime,
    lease: timedelta = SYNC_LEASE,
) -> bool:
    """Push the expiry of the lease taken at `started_at` to now + lease; False when it was
    reset meanwhile (the sync should then stop: its outcome would be dropped)."""
    renewed = await session.execute(
        update(User)
        .where(User.id == user_id, User.sync_started_at == started_at)
        .values(sync_lease_expires_at=now + lease)
    )
    return bool(getattr(renewed, "rowcount", 0))


async def finish_sync(
    session: AsyncSession, user_id: int, started_at: datetime, now: datetime, error: str | None
) -> bool:
    """Give the lease taken at `started_at` back with the outcome; False when it was reset
    meanwhile (the outcome is then dropped: a newer sync may hold the lease). A request made
    before the sync started is answered by it, whatever the outcome."""
    values: dict[str, object] = {
        "sync_started_at": None,
        "sync_lease_expires_at": None,
        "sync_finished_at": now,
        "sync_requested_at": case(
            (User.sync_requested_at <= started_at, None), else_=User.sync_requested_at
        ),
    }
    if error is None:
        values.update(synced_at=now, sync_error=None)
    else:
        values["sync_error"] = error
    done = await session.execute(
        update(User).where(User.id == user_id, User.sync_started_at == started_at).values(values)
    )
    return bool(getattr(done, "rowcount", 0))


async def stuck_syncs(session: AsyncSession, now: datetime) -> list[StuckSync]:
    """Users whose sync lease expired and was not reset: the sync crashed, and the periodic
    reset is not running (no platform process, or its reconciler fails)."""
    users = await session.scalars(
        select(User).where(User.sync_lease_expires_at <= now).order_by(User.login)
    )
    return [
        StuckSync(u.login, u.sync_started_at, u.sync_lease_expires_at)
        for u in users
        if u.sync_lease_expires_at is not None
    ]


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "an unknown time"


def _clear(user: User, why: str) -> None:
    user.sync_error = f"the sync started at {_when(user.sync_started_at)} {why}"
    user.sync_started_at = user.sync_lease_expires_at = None


async def reset_stale_syncs(session: AsyncSession, now: datetime) -> list[str]:
    """Free the expired leases (the reconciler's pass); the logins reset."""
    users = list(await session.scalars(select(User).where(User.sync_lease_expires_at <= now)))
    for user in users:
        _clear(user, f"did not finish: its lease expired at {_when(user.sync_lease_expires_at)}")
        # The periodic sync tries again an interval later, not at once: it may crash again.
        user.sync_finished_at = now
    return sorted(u.login for u in users)


async def reset_syncs(session: AsyncSession, login: str | None = None) -> list[str]:
    """Free the lease of `login`, or of everybody syncing, expired or not (`roundhouse users
    reset-sync`); the logins reset."""
    query = select(User).where(User.sync_lease_expires_at.is_not(None))
    if login is not None:
        query = query.where(User.login == login)
    users = list(await session.scalars(query))
    for user in users:
        _clear(user, "was reset by an administrator")
    return sorted(u.login for u in users)
