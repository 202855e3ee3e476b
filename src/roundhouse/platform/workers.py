"""The worker registry: heartbeats from reporting.workers kept in the workers table, and
"waiting" reasons for queued jobs whose queue no live worker serves.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from roundhouse.broker import Delivery, Subscription
from roundhouse.db.models import Worker, utcnow
from roundhouse.platform.context import PlatformContext
from roundhouse.protocol import WORKER_QUEUE

log = logging.getLogger(__name__)
ALIVE_FOR = timedelta(seconds=30)


class WorkerRegistry:
    def __init__(self, ctx: PlatformContext) -> None:
        self.ctx = ctx
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self.ctx.broker.consume(WORKER_QUEUE, self._on_heartbeat, 10)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.cancel()

    async def _on_heartbeat(self, delivery: Delivery) -> None:
        body = delivery.body
        try:
            await self.record(body)
        except Exception:
            log.exception("bad heartbeat %r", body)
        await delivery.ack()

    async def record(self, beat: dict[str, object]) -> None:
        at = datetime.fromisoformat(str(beat["at"])) if beat.get("at") else utcnow()
        fields = {
            "version": str(beat.get("version", "")),
            "protocol": int(str(beat.get("protocol", 0))),
            "queues": list(beat.get("queues") or []),  # type: ignore[call-overload]
            "backend": str(beat.get("backend", "")),
            "capacity": int(str(beat.get("capacity", 0))),
            "busy": int(str(beat.get("busy", 0))),
            "running": list(beat.get("running") or []),  # type: ignore[call-overload]
            "last_seen": at,
        }
        async with self.ctx.sessions() as session, session.begin():
            worker = await session.scalar(select(Worker).where(Worker.name == str(beat["name"])))
            if worker is None:
                session.add(Worker(name=str(beat["name"]), **fields))
            else:
                for key, value in fields.items():
                    setattr(worker, key, value)

    async def alive(self) -> list[Worker]:
        async with self.ctx.sessions() as session:
            since = utcnow() - ALIVE_FOR
            return list(await session.scalars(select(Worker).where(Worker.last_seen >= since)))
