"""The notifier: told each build state change (a PlatformContext build listener), it picks
the targets that fire (rules.py), decrypts their secure values as jobs' are decrypted, and
delivers to each in a background task of its own, so the hub never waits for a receiver.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse import tlsclient
from roundhouse.db.models import Build, Job, Repository
from roundhouse.platform.chains import Chains
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.git import Commit, GitError
from roundhouse.platform.keys import RepositoryKeys, private_key, secure_values
from roundhouse.platform.notify import email, slack, webhook
from roundhouse.platform.notify.delivery import Delivery, NotSent, deliver, post
from roundhouse.platform.notify.message import BuildMessage
from roundhouse.platform.notify.rules import ON_KEYS, fires, targets
from roundhouse.platform.secrets import SecretsError
from roundhouse.protocol import FINISHED_STATES
from roundhouse.travisyml.messages import Messages

log = logging.getLogger(__name__)


async def previous_state(session: AsyncSession, build: Build) -> str | None:
    """The state of the last finished build before this one of the same branch (of the same
    pull request, for a pull request's build)."""
    number = build.pull_request_number
    query = select(Build.state).where(
        Build.repository_id == build.repository_id,
        Build.id < build.id,
        Build.state.in_(FINISHED_STATES),
        Build.branch == build.branch if build.branch is not None else Build.branch.is_(None),
        Build.pull_request_number == number
        if number is not None
        else Build.pull_request_number.is_(None),
    )
    return await session.scalar(query.order_by(Build.id.desc()).limit(1))


def _refused(message: str) -> Any:
    async def send() -> None:
        raise NotSent(message, retry=False)

    return send


class Notifier:
    def __init__(
        self, ctx: PlatformContext, keys: RepositoryKeys, client: httpx.AsyncClient | None = None
    ) -> None:
        self.ctx = ctx
        self.keys = keys
        self.client = client or tlsclient.async_client(timeout=ctx.settings.notify_timeout)
        self._chains = Chains()

    def build_changed(self, build_id: int, state: str) -> None:
        """Start notifying about build_id entering state (a PlatformContext build listener)."""
        if state in ON_KEYS:
            # A build's notifications go out in the order of its states: start before end.
            self._chains.add(
                build_id,
                partial(self.notify, build_id, state),
                f"notifications of build {build_id} ({state})",
            )

    async def notify(self, build_id: int, state: str) -> list[bool]:
        """Deliver every notification of the build for state; whether each was delivered."""
        deliveries = await self.deliveries(build_id, state)
        return list(
            await asyncio.gather(*(deliver(self.ctx, build_id, state, d) for d in deliveries))
        )

    async def deliveries(self, build_id: int, state: str) -> list[Delivery]:
        async with self.ctx.sessions() as session:
            build = await session.get(Build, build_id)
            if build is None:
                return []
            pull_request = build.pull_request_number is not None
            previous = await previous_state(session, build)
            chosen = [
                t for t in targets(build.notifications) if fires(t, state, previous, pull_request)
            ]
            if not chosen:
                return []
            jobs = list(
                await session.scalars(select(Job).where(Job.build_id == build_id).order_by(Job.id))
            )
            secure = await secure_values(session, self.ctx.at_rest, build, build.repository)
        # Decrypted like a job's secure values; a fork's pull request gets none of them.
        configs = secure.apply({"targets": [t.config for t in chosen]}, Messages())["targets"]
        message = BuildMessage(
            build,
            jobs,
            await self._commit(build),
            state,
            previous,
            self.ctx.web_url(f"/{build.repository.slug}/builds/{build.id}"),
        )
        found: list[Delivery] = []
        for target, config in zip(chosen, configs, strict=True):
            if target.channel == "email":
                found += self._email(config, message, secure.values)
            elif target.channel == "slack":
                found += self._slack(config, message)
            else:
                found += await self._webhooks(config, message, build.repository, secure.values)
        return found

    async def _commit(self, build: Build) -> Commit:
        """Author and committer of the commit people made (a pull request's head)."""
        repository = build.repository
        sha = build.request.head_sha or build.sha
        try:
            return await self.ctx.mirror(repository.id, repository.url).commit(sha)
        except GitError:
            return Commit(sha, build.message, "")

    def _email(
        self, config: dict[str, Any], message: BuildMessage, secrets: list[str]
    ) -> list[Delivery]:
        settings = self.ctx.settings
        given = bool(config.get("recipients"))
        if not settings.smtp_host:
            # Without SMTP the default email is simply not sent; one asked for says why not.
            why = "No SMTP server is configured on this Roundhouse (setting smtp_host)."
            return [Delivery("email", "email", _refused(why))] if given else []
        to = email.recipients(config, message)
        if not to:
            return []
        shown = ", ".join("[secure]" if r in secrets else r for r in to)
        mail = email.compose(message, to, email.sender_of(settings))
        return [Delivery("email", f"email to {shown}", partial(email.send, settings, mail))]

    def _slack(self, config: dict[str, Any], message: BuildMessage) -> list[Delivery]:
        found: list[Delivery] = []
        for value in config.get("rooms") or []:
            try:
                room = slack.room(str(value), self.ctx.settings.slack_url)
            except slack.BadRoom as error:
                found.append(Delivery("slack", "slack (invalid room)", _refused(str(error))))
                continue
            body = slack.body(message, room.channel, config.get("template"))
            request = httpx.Request("POST", room.url, json=body)
            found.append(
                Delivery("slack", room.label, partial(post, self.client, request, room.label))
            )
        return found

    async def _webhooks(
        self,
        config: dict[str, Any],
        message: BuildMessage,
        repository: Repository,
        secrets: list[str],
    ) -> list[Delivery]:
        urls = [str(url).strip() for url in config.get("urls") or []]
        if not urls:
            return []
        try:
            key = await self._signing_key(repository.id)
        except SecretsError as error:
            why = f"The repository's key cannot be decrypted to sign webhooks ({error})."
            return [Delivery("webhooks", "webhooks", _refused(why))]
        payload = message.payload()
        found: list[Delivery] = []
        for url in urls:
            if not url.startswith(("http://", "https://")):
                why = "A webhook URL must start with http:// or https://."
                found.append(Delivery("webhooks", "webhook (invalid URL)", _refused(why)))
                continue
            label = webhook.label(url, secret=url in secrets)
            request = webhook.request(url, payload, repository.slug, key)
            found.append(Delivery("webhooks", label, partial(post, self.client, request, label)))
        return found

    async def _signing_key(self, repository_id: int) -> rsa.RSAPrivateKey:
        """The repository's private key; made now if the repository has none yet."""
        async with self.ctx.sessions() as session:
            key = await private_key(session, self.ctx.at_rest, repository_id)
        if key is None:
            await self.keys.public_key(repository_id)
            async with self.ctx.sessions() as session:
                key = await private_key(session, self.ctx.at_rest, repository_id)
        assert key is not None
        return key

    async def drain(self) -> None:
        """Wait for the notifications under way (tests)."""
        await self._chains.drain()

    async def stop(self) -> None:
        await self._chains.cancel()
        await self.client.aclose()
