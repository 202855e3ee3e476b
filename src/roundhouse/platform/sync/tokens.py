"""The forge tokens a login left for the sync: opened, refreshed when the access token has
expired (GitLab's last two hours, Gitea's one hour), and forgotten when the forge refuses
them, so that a refused login is not tried again until the person signs in again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from roundhouse.db.models import Identity
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.oauth import OAuthFailed, Provider
from roundhouse.platform.secrets import SecretsError
from roundhouse.platform.sync.common import ForgeApi, SignInAgain, SyncError

log = logging.getLogger(__name__)
T = TypeVar("T")


def opened(ctx: PlatformContext, api: ForgeApi, sealed: str | None) -> str:
    try:
        return ctx.at_rest.open(sealed) or ""
    except SecretsError as error:
        raise SyncError(f"The stored {api.title} login cannot be read: {error}.") from None


async def _refreshed(ctx: PlatformContext, identity: Identity, app: Provider) -> str | None:
    """A new access token from the refresh token, stored with the new refresh token; None
    when there is none or the forge refuses it."""
    if identity.refresh_sealed is None:
        return None
    try:
        fresh = await app.refresh(ctx.at_rest.open(identity.refresh_sealed) or "")
    except (OAuthFailed, SecretsError) as error:
        log.warning(
            "refreshing the %s token of identity %s failed: %s", app.name, identity.id, error
        )
        return None
    async with ctx.sessions() as session, session.begin():
        stored = await session.get(Identity, identity.id)
        if stored is None or stored.refresh_sealed != identity.refresh_sealed:
            return None  # signed in again meanwhile: that login's tokens stand
        stored.token_sealed = ctx.at_rest.seal(fresh.access)
        if fresh.refresh is not None:  # forges may rotate it (RFC 6749, section 6)
            stored.refresh_sealed = ctx.at_rest.seal(fresh.refresh)
        identity.token_sealed, identity.refresh_sealed = stored.token_sealed, stored.refresh_sealed
    return fresh.access


async def forget(ctx: PlatformContext, identity: Identity) -> None:
    async with ctx.sessions() as session, session.begin():
        stored = await session.get(Identity, identity.id)
        if stored is not None and stored.token_sealed == identity.token_sealed:
            stored.token_sealed = stored.refresh_sealed = None


async def with_token(
    ctx: PlatformContext,
    identity: Identity,
    app: Provider,
    api: ForgeApi,
    call: Callable[[str], Awaitable[T]],
) -> T:
    """call(access token), once more with a refreshed token if the forge refused it."""
    try:
        return await call(opened(ctx, api, identity.token_sealed))
    except SignInAgain:
        fresh = await _refreshed(ctx, identity, app)
        if fresh is None:
            await forget(ctx, identity)
            raise
    try:
        return await call(fresh)
    except SignInAgain:
        await forget(ctx, identity)
        raise
