"""Delivering one notification: attempts with a doubling pause between them, each attempt's
outcome stored in `notification_deliveries`, and the build's page told to re-read itself.

A receiver's refusal that cannot change (a 4xx answer, a rejected recipient) is not retried.
Error texts name the target's label, never its URL: URLs and tokens may be secure values.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import NotificationDelivery
from roundhouse.platform.context import PlatformContext

log = logging.getLogger(__name__)


class NotSent(Exception):
    """An attempt failed; the message says why in one sentence; retry: whether another
    attempt may succeed."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class Delivery:
    channel: str
    target: str  # for people: no secrets
    send: Callable[[], Awaitable[None]]


async def post(client: httpx.AsyncClient, request: httpx.Request, target: str) -> None:
    """Send request; NotSent unless the receiver answers 2xx (5xx and 429 may be retried)."""
    try:
        response = await client.send(request)
    except httpx.HTTPError as error:
        raise NotSent(f"{target} could not be reached ({type(error).__name__}: {error}).") from None
    if not response.is_success:
        status = response.status_code
        raise NotSent(
            f"{target} answered {status}: {response.text[:200].strip()}",
            retry=status >= 500 or status == 429,
        )


async def deliver(ctx: PlatformContext, build_id: int, event: str, delivery: Delivery) -> bool:
    """Attempt delivery until it succeeds, is refused for good, or attempts run out;
    returns whether it was delivered."""
    settings = ctx.settings
    delay = settings.notify_backoff
    for attempt in range(1, settings.notify_attempts + 1):
        retry = True
        try:
            await delivery.send()
            error = None
        except NotSent as failure:
            error, retry = str(failure), failure.retry
        except Exception as failure:  # a bug must not stop the other notifications
            log.exception("notification %s of build %s failed", delivery.target, build_id)
            error = f"Internal error: {failure!r}; see the platform log."
        await _record(ctx, build_id, event, delivery, attempt, error)
        if error is None:
            return True
        log.warning(
            "notification of build %s (%s) attempt %d failed: %s", build_id, event, attempt, error
        )
        if not retry or attempt == settings.notify_attempts:
            return False
        await asyncio.sleep(delay)
        delay *= 2
    return False


async def _record(
    ctx: PlatformContext,
    build_id: int,
    event: str,
    delivery: Delivery,
    attempt: int,
    error: str | None,
) -> None:
    async with ctx.sessions() as session, session.begin():
        session.add(
            NotificationDelivery(
                build_id=build_id,
                event=event,
                channel=delivery.channel,
                target=delivery.target,
                attempt=attempt,
                delivered=error is None,
                error=error,
            )
        )
    ctx.bus.publish(f"build:{build_id}")


async def summary(session: AsyncSession, build_id: int) -> list[dict[str, Any]]:
    """One entry per notification of the build (event, channel, target): its attempts so
    far, whether one got through, and the last attempt's error and time."""
    rows = await session.scalars(
        select(NotificationDelivery)
        .where(NotificationDelivery.build_id == build_id)
        .order_by(NotificationDelivery.id)
    )
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:
        entry = found.setdefault(
            (row.event, row.channel, row.target),
            {"event": row.event, "channel": row.channel, "target": row.target},
        )
        entry.update(
            attempts=row.attempt,
            delivered=row.delivered,
            error=row.error,
            at=row.at.isoformat().replace("+00:00", "Z"),
        )
    return list(found.values())
