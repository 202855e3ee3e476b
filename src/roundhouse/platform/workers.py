"""The worker registry: heartbeats from reporting.workers kept in the workers table; each
renews the leases of the attempts the worker lists, and a worker speaking a protocol version
this platform cannot serve, or without the worker token, is told so, and shown so.

Times are the platform's own (when the heartbeat was recorded): worker clocks may be off.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from roundhouse import __version__
from roundhouse.broker import Delivery, Subscription
from roundhouse.db.models import Job, Worker, utcnow
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.workertoken import token_matches, worker_token
from roundhouse.protocol import (
    COMMAND_EXCHANGE,
    PROTOCOL_VERSION,
    SERVED_PROTOCOLS,
    TOKEN_REJECTED,
    WORKER_QUEUE,
)

log = logging.getLogger(__name__)
BEATS_AT_ONCE = 16


def protocol_problem(version: object) -> str | None:
    """What is wrong with a worker speaking protocol version, or None if it is served."""
    if version in SERVED_PROTOCOLS:
        return None
    served = ", ".join(str(v) for v in sorted(SERVED_PROTOCOLS))
    newer = isinstance(version, int) and version > max(SERVED_PROTOCOLS)
    fix = "upgrade the platform" if newer else "upgrade the worker"
    return (
        f"the worker speaks protocol version {version}, and this platform (roundhouse "
        f"{__version__}) serves version {served}: {fix} so that both run the same roundhouse"
    )


async def tell_worker(ctx: PlatformContext, name: str, problem: str) -> None:
    """Say in this log and in the worker's why the platform cannot work with it."""
    log.error("worker %s: %s", name, problem)
    await ctx.broker.broadcast(
        COMMAND_EXCHANGE, {"v": PROTOCOL_VERSION, "to": name, "problem": problem}
    )


class WorkerRegistry:
    def __init__(self, ctx: PlatformContext) -> None:
        self.ctx = ctx
        self._subscription: Subscription | None = None
        self._token = ""

    @property
    def token(self) -> str:
        """The worker token (from the instance key, read once)."""
        if not self._token:
            self._token = worker_token(self.ctx.settings)
        return self._token

    @property
    def alive_for(self) -> timedelta:
        """A worker last heard from longer ago than this is not alive."""
        return timedelta(seconds=self.ctx.settings.worker_lost_after)

    async def start(self) -> None:
        self._subscription = await self.ctx.broker.consume(
            WORKER_QUEUE, self._on_heartbeat, BEATS_AT_ONCE
        )

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.cancel()

    async def _on_heartbeat(self, delivery: Delivery) -> None:
        body = delivery.body
        try:
            await self.record(body)
        except Exception:
            log.exception("bad heartbeat %r", body)
        await delivery.ack_unless_lost()

    async def record(self, beat: dict[str, Any]) -> None:
        name = str(beat["name"])
        problem = protocol_problem(beat.get("protocol"))
        if problem is None and not token_matches(self.token, beat.get("token")):
            problem = TOKEN_REJECTED
        now = utcnow()
        leases = [
            {"id": int(h["id"]), "attempt": int(h["attempt"]), "lease": str(h["lease"])}
            for h in beat.get("leases") or []
            if isinstance(h, dict)
        ]
        fields = {
            "version": str(beat.get("version", ""))[:50],
            "protocol": int(str(beat.get("protocol", 0))),
            "queues": list(beat.get("queues") or []),
            "backend": str(beat.get("backend", ""))[:20],
            "capacity": int(str(beat.get("capacity", 0))),
            "busy": int(str(beat.get("busy", 0))),
            "running": list(beat.get("running") or []),
            "leases": leases,
            "problem": problem,
            "last_seen": now,
        }
        async with self.ctx.sessions() as session, session.begin():
            assert session.bind is not None
            insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
            # One statement: platform processes recording the same new worker do not collide.
            statement = insert(Worker).values(name=name, first_seen=now, **fields)
            await session.execute(
                statement.on_conflict_do_update(index_elements=["name"], set_=fields)
            )
            if leases and not problem:
                await session.execute(
                    update(Job)
                    .where(
                        Job.lease.in_([h["lease"] for h in leases]),
                        Job.worker == name,
                        Job.state.in_(("received", "started")),
                    )
                    .values(lease_renewed_at=now)
                )
        self.ctx.bus.publish(f"worker:{name}")  # the admin dashboard's workers table
        if problem:
            await tell_worker(self.ctx, name, problem)

    async def alive(self) -> list[Worker]:
        async with self.ctx.sessions() as session:
            since = utcnow() - self.alive_for
            return list(await session.scalars(select(Worker).where(Worker.last_seen >= since)))

    async def drain(self, name: str) -> bool:
        """Ask a worker to stop taking jobs and stop once its running jobs are done."""
        async with self.ctx.sessions() as session:
            known = await session.scalar(select(Worker.id).where(Worker.name == name))
        if known is None:
            return False
        await self.ctx.broker.broadcast(COMMAND_EXCHANGE, {"v": PROTOCOL_VERSION, "drain": name})
        return True
