"""The default-queue trap: jobs wait in a queue that no connected worker consumes.

Travis CI Enterprise routes jobs to e.g. `builds.trusty` while its workers serve another
queue, and builds silently never start; here every such queue is named, with its count and
the queues the connected workers do serve.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import func, select

from roundhouse.broker.base import QueueInfo
from roundhouse.db.models import Job, Worker, utcnow
from roundhouse.db.session import SessionFactory
from roundhouse.ops.doctor.check import Check, fail, ok, plural
from roundhouse.settings import Settings

QueueInfoFn = Callable[[str], Awaitable[QueueInfo]]


async def live_workers(sessions: SessionFactory, settings: Settings) -> list[Worker]:
    """Workers heard from within worker_lost_after that the platform works with."""
    since = utcnow() - timedelta(seconds=settings.worker_lost_after)
    async with sessions() as session:
        rows = await session.scalars(select(Worker).where(Worker.last_seen >= since))
        return [w for w in rows if not w.problem]


def _jobs(count: int) -> str:
    return "1 job waits" if count == 1 else f"{count} jobs wait"


async def unserved_queues(
    sessions: SessionFactory, settings: Settings, queue_info: QueueInfoFn | None = None
) -> list[Check]:
    """One FAIL per queue with queued jobs and no live worker; else one ok."""
    async with sessions() as session:
        waiting = dict(
            (
                await session.execute(
                    select(Job.queue, func.count()).where(Job.state == "queued").group_by(Job.queue)
                )
            ).all()
        )
    workers = await live_workers(sessions, settings)
    served = sorted({q for w in workers for q in w.queues})
    serving = (
        f"connected workers serve: {', '.join(served)}" if served else "no worker is connected"
    )
    checks = []
    for queue, count in sorted(waiting.items()):
        if queue in served:
            continue
        broker = ""
        if queue_info is not None:
            try:
                info = await queue_info(queue)
                broker = (
                    f"; the broker holds {plural(info.depth, 'message')}, "
                    f"{plural(info.consumers, 'consumer')}"
                )
            except Exception as error:
                broker = f"; the broker cannot say how many messages ({error})"
        checks.append(
            fail(
                f"queue {queue}",
                f"{_jobs(count)} in queue {queue} and no worker serves it ({serving}){broker}",
                f"start a worker with {queue} in its queues (ROUNDHOUSE_QUEUES), or route these "
                "jobs to a served queue with default_queue or queue_rules",
            )
        )
    if checks:
        return checks
    if not waiting:
        return [ok("queues", f"no job waits in any queue ({serving})")]
    listed = ", ".join(f"{q} ({n})" for q, n in sorted(waiting.items()))
    return [ok("queues", f"every queue with jobs waiting has a worker: {listed}")]
