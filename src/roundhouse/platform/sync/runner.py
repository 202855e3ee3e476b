"""The sync as a leased background task: at login, when an administrator asks
(`roundhouse users sync`), and every `sync_interval` seconds for each user with a forge login.

A sync takes the user's lease (platform/usersync.py), so two platform processes never sync one
user at once; renews it every third of `sync_lease` while it runs; and gives it back with its
outcome or its error. A sync that is killed gives nothing back: its lease expires and the
reconciler resets it. Stopping the platform gives back the leases of the syncs it cut short.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import ColumnElement, or_, select

from roundhouse import tlsclient
from roundhouse.db.models import Identity, User, utcnow
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.locks import leader
from roundhouse.platform.oauth import provider
from roundhouse.platform.periodic import Periodic
from roundhouse.platform.sync import gitea, github, gitlab
from roundhouse.platform.sync.common import ForgeApi, SyncError, list_repositories
from roundhouse.platform.sync.record import Recorded, record
from roundhouse.platform.sync.tokens import with_token
from roundhouse.platform.usersync import begin_sync, finish_sync, renew_sync

log = logging.getLogger(__name__)
APIS: dict[str, ForgeApi] = {api.name: api for api in (github.API, gitea.API, gitlab.API)}
# How often a platform process looks for users due a sync (one process at a time).
ROUND_SECONDS = 60.0
STOPPED = "the platform stopped during the sync; the next one starts over"


@dataclass
class Outcome:
    """How one sync of a user went; `ran` is False when another sync held the lease."""

    user_id: int
    ran: bool
    error: str | None = None
    forges: list[Recorded] = field(default_factory=list)


class SyncRunner:
    def __init__(self, ctx: PlatformContext, http: httpx.AsyncClient | None = None) -> None:
        self.ctx = ctx
        self.http = http or tlsclient.async_client(timeout=30)
        self._tasks: dict[int, asyncio.Task[Outcome]] = {}
        # The leases this process holds: user id → when it was taken.
        self._held: dict[int, datetime] = {}
        self._loop = Periodic("code-host sync round", self.sync_due, lambda: ROUND_SECONDS)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.ctx.settings.sync_lease)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        held = dict(self._held)  # before the round's own sync is cut short too
        await self._loop.stop()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for user_id, started in held.items():
            async with self.ctx.sessions() as session, session.begin():
                await finish_sync(session, user_id, started, utcnow(), STOPPED)
        await self.http.aclose()

    def request(self, user_id: int) -> asyncio.Task[Outcome]:
        """Sync the user in the background (the running sync when this process has one)."""
        task = self._tasks.get(user_id)
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(self.sync_user(user_id))
            self._tasks[user_id] = task
            task.add_done_callback(lambda done: self._forget(user_id, done))
        return task

    def _forget(self, user_id: int, task: asyncio.Task[Outcome]) -> None:
        if self._tasks.get(user_id) is task:
            del self._tasks[user_id]

    async def sync_user(self, user_id: int) -> Outcome:
        """One sync under the user's lease; Outcome(ran=False) when somebody holds it."""
        started = utcnow()
        async with self.ctx.sessions() as session, session.begin():
            if not await begin_sync(session, user_id, started, self.lease):
                return Outcome(user_id, ran=False)
        self._held[user_id] = started
        try:
            return await self._under_lease(user_id, started)
        finally:
            self._held.pop(user_id, None)

    async def _under_lease(self, user_id: int, started: datetime) -> Outcome:
        outcome = Outcome(user_id, ran=True)
        renewer = asyncio.create_task(self._renew(user_id, started))
        try:
            outcome.forges = await self._sync(user_id, started)
        except SyncError as error:
            outcome.error = str(error)
        except Exception as error:  # a bug must still give the lease back, with a reason
            log.exception("the code-host sync of user %s failed", user_id)
            outcome.error = f"the sync failed unexpectedly ({type(error).__name__}: {error})"
        finally:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
        async with self.ctx.sessions() as session, session.begin():
            await finish_sync(session, user_id, started, utcnow(), outcome.error)
        return outcome

    async def _renew(self, user_id: int, started: datetime) -> None:
        """Keep the lease while the sync runs. A lease reset meanwhile is not renewed, and
        the sync then records nothing (see _sync_forge)."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                async with self.ctx.sessions() as session, session.begin():
                    kept = await renew_sync(session, user_id, started, utcnow(), self.lease)
            except Exception:  # a database hiccup: the next renewal may get through
                log.exception("renewing the sync lease of user %s failed", user_id)
                continue
            if not kept:
                log.warning("the sync of user %s lost its lease: it was reset", user_id)
                return

    async def _sync(self, user_id: int, started: datetime) -> list[Recorded]:
        async with self.ctx.sessions() as session:
            user = await session.get(User, user_id)
            identities = list(
                await session.scalars(
                    select(Identity)
                    .where(Identity.user_id == user_id, Identity.token_sealed.is_not(None))
                    .order_by(Identity.provider)
                )
            )
        if user is None:
            raise SyncError("the user was removed during the sync")
        if user.suspended:
            raise SyncError(f"{user.login} is suspended, so their repositories are not synced")
        if not identities:
            raise SyncError(no_forge_login(user.login))
        recorded, errors = [], []
        for identity in identities:
            try:
                recorded.append(await self._sync_forge(user_id, started, identity))
            except SyncError as error:
                errors.append(str(error))
        if errors:
            raise SyncError(" ".join(errors))
        return recorded

    async def _sync_forge(self, user_id: int, started: datetime, identity: Identity) -> Recorded:
        forge = identity.provider
        app = provider(self.ctx.settings, forge)
        api = APIS.get(forge)
        if app is None or api is None:
            raise SyncError(f"{forge} is not configured here any more (setting oauth.{forge}).")
        repos = await with_token(
            self.ctx,
            identity,
            app,
            api,
            lambda token: list_repositories(self.http, api, app.api_url, token),
        )
        async with self.ctx.sessions() as session, session.begin():
            # Written only under this sync's lease: a sync whose lease was reset and taken by
            # another must not overwrite the newer one's outcome.
            holder = await session.scalar(
                select(User.sync_started_at).where(User.id == user_id).with_for_update()
            )
            if holder != started:
                raise SyncError("the sync's lease was reset before it could record its outcome.")
            return await record(session, user_id, forge, app.api_url, repos, utcnow())

    async def sync_due(self) -> list[Outcome]:
        """One round: sync the users asked for, and those not synced for sync_interval."""
        engine = self.ctx.sessions.kw["bind"]
        async with leader(engine, "roundhouse:sync-round") as leading:
            if not leading:
                return []  # another platform process does this round
            return [await self.sync_user(user_id) for user_id in await self.due(utcnow())]

    async def due(self, now: datetime) -> list[int]:
        interval = self.ctx.settings.sync_interval
        last = User.sync_finished_at
        wanted: list[ColumnElement[bool]] = [User.sync_requested_at.is_not(None)]
        if interval > 0:
            wanted += [last.is_(None), last <= now - timedelta(seconds=interval)]
        async with self.ctx.sessions() as session:
            ids = await session.scalars(
                select(User.id)
                .join(Identity, Identity.user_id == User.id)
                .where(
                    Identity.token_sealed.is_not(None),
                    User.suspended.is_(False),
                    User.sync_lease_expires_at.is_(None),
                    or_(*wanted),
                )
                .distinct()
                .order_by(User.id)
            )
            return list(ids)


def no_forge_login(login: str) -> str:
    return (
        f"{login} has no forge login to sync with: the sync uses the token of their last"
        " sign-in with GitHub, Gitea or GitLab, so they sign in with one (again)."
    )
