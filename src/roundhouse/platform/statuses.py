"""Commit statuses: each build's state shown on its commit at the forge (pending, then
success, failure or error), linking to the build's page.

Posting never holds a build up: statuses are sent by background tasks, one build's in the
order its states changed, retried with backoff on network errors, 5xx and 429. What finally
went wrong is logged and kept on the build as `status_error` (API and build page) until a
later status of the build gets through.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

import httpx

from roundhouse import tlsclient
from roundhouse.db.models import Build
from roundhouse.platform import repo_secrets
from roundhouse.platform.chains import Chains
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.forge import FORGES
from roundhouse.platform.forge.common import CommitStatus
from roundhouse.platform.secrets import SecretsError
from roundhouse.protocol import FINISHED_STATES

log = logging.getLogger(__name__)
DESCRIPTIONS = {
    "created": "The Roundhouse build is pending",
    "queued": "The Roundhouse build is pending",
    "received": "The Roundhouse build is in progress",
    "started": "The Roundhouse build is in progress",
    "passed": "The Roundhouse build passed",
    "failed": "The Roundhouse build failed",
    "errored": "The Roundhouse build errored",
    "canceled": "The Roundhouse build was canceled",
}


class StatusReporter:
    def __init__(self, ctx: PlatformContext, client: httpx.AsyncClient | None = None) -> None:
        self.ctx = ctx
        self.client = client or tlsclient.async_client(timeout=10)
        self._chains = Chains()
        # The body last accepted per unfinished build; the same status is not sent twice.
        self._posted: dict[int, bytes] = {}

    def build_changed(self, build_id: int, state: str) -> None:
        """Queue the status for this state (a PlatformContext build listener)."""
        self._chains.add(
            build_id,
            partial(self.post, build_id, state),
            f"commit status of build {build_id} ({state})",
        )

    async def post(self, build_id: int, state: str) -> None:
        """Send one status now (with retries); a repository without a forge token has none."""
        async with self.ctx.sessions() as session:
            build = await session.get(Build, build_id)
            if build is None:
                return
            known_error = build.status_error
            http_request = self._request(build, state)
        if http_request is None:
            return
        if isinstance(http_request, str):  # the connection is incomplete
            error: str | None = http_request
        else:
            body = http_request.content
            if self._posted.get(build_id) == body:
                return
            error = await self._send(http_request, attempts=self.ctx.settings.status_attempts)
            if error is None:
                self._posted[build_id] = body
            else:
                log.warning("commit status of build %s not posted: %s", build_id, error)
        if state in FINISHED_STATES:
            self._posted.pop(build_id, None)  # a restart starts again from pending
        if error != known_error:
            await self._record(build_id, error)

    def _request(self, build: Build, state: str) -> httpx.Request | str | None:
        """The forge's request for this status; None without a forge and token; else why
        there can be none."""
        repository = build.repository
        forge = FORGES.get(repository.forge or "")
        if forge is None or not repo_secrets.is_set(repository, "forge_token"):
            return None
        try:
            token = repo_secrets.read(self.ctx.at_rest, repository, "forge_token")
        except SecretsError as error:
            return f"The forge token cannot be decrypted: {error}."
        if not token:
            return None
        api_url = repository.forge_api_url or forge.default_api_url(repository.url)
        if api_url is None:
            return "Set forge_api_url in the repository's settings."
        request = build.request
        status = CommitStatus(
            slug=repository.slug,
            # A pull request's status belongs on its head commit, not on the merge commit.
            sha=request.head_sha or build.sha,
            state=state,
            target_url=self.ctx.web_url(f"/{repository.slug}/builds/{build.id}"),
            context="continuous-integration/roundhouse/"
            + ("pr" if build.event_type == "pull_request" else "push"),
            description=DESCRIPTIONS.get(state, f"The Roundhouse build is {state}"),
            ref=request.head_branch or build.tag or build.branch,
        )
        return forge.status_request(api_url, token, status)

    async def _send(self, request: httpx.Request, attempts: int) -> str | None:
        """None when the forge took the status, else what went wrong on the last attempt."""
        delay = self.ctx.settings.status_backoff
        problem = ""
        for attempt in range(1, attempts + 1):
            try:
                response = await self.client.send(request)
            except httpx.HTTPError as error:
                problem = f"{request.method} {request.url} failed: {error!r}"
            else:
                if response.is_success:
                    return None
                problem = (
                    f"{request.method} {request.url} answered {response.status_code}: "
                    f"{response.text[:200]}"
                )
                if response.status_code < 500 and response.status_code != 429:
                    break  # a wrong token or URL stays wrong: retrying will not help
            if attempt < attempts:
                await asyncio.sleep(delay)
                delay *= 2
        return problem

    async def _record(self, build_id: int, error: str | None) -> None:
        async with self.ctx.sessions() as session, session.begin():
            build = await session.get(Build, build_id)
            if build is not None:
                build.status_error = error
        self.ctx.bus.publish(f"build:{build_id}")

    async def stop(self) -> None:
        await self._chains.cancel()
        await self.client.aclose()
