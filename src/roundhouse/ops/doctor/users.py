"""Users stuck syncing (the manual's "users stuck syncing"): a sync whose lease expired and was
not reset, which means no platform process runs the reconciler's periodic reset.
"""

from __future__ import annotations

from roundhouse.db.models import utcnow
from roundhouse.db.session import SessionFactory
from roundhouse.ops.doctor.check import Check, ok, plural, warn
from roundhouse.platform.usersync import stuck_syncs
from roundhouse.settings import Settings

SHOWN = 5


async def stuck_sync_check(settings: Settings, sessions: SessionFactory) -> list[Check]:
    async with sessions() as session:
        stuck = await stuck_syncs(session, utcnow())
    if not stuck:
        return [ok("user syncs", "no user's sync is past its lease")]
    names = ", ".join(s.login for s in stuck[:SHOWN]) + (" …" if len(stuck) > SHOWN else "")
    return [
        warn(
            "user syncs",
            f"{plural(len(stuck), 'user')} still marked syncing past the lease: {names}",
            "start a platform process (its reconciler resets expired leases), or run "
            "`roundhouse users reset-sync`",
        )
    ]
