"""Worker checks seen from the platform: late heartbeats, and workers the platform does not
work with (another protocol version, a wrong worker token)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from roundhouse.db.models import Worker, utcnow
from roundhouse.db.session import SessionFactory
from roundhouse.ops.doctor.check import Check, fail, ok, warn
from roundhouse.protocol import TOKEN_REJECTED
from roundhouse.settings import Settings

# A worker silent for longer is taken as decommissioned, not late.
FORGOTTEN_AFTER = timedelta(days=1)


def ago(when: datetime, now: datetime) -> str:
    seconds = int((now - when).total_seconds())
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


async def heartbeats(sessions: SessionFactory, settings: Settings) -> list[Check]:
    now = utcnow()
    window = timedelta(seconds=settings.worker_lost_after)
    async with sessions() as session:
        workers = list(await session.scalars(select(Worker).order_by(Worker.name)))
    if not workers:
        return [
            warn(
                "workers",
                "no worker has ever sent a heartbeat: no job can run",
                "start a worker (`roundhouse worker` on a build machine) with this broker_url",
            )
        ]
    checks = []
    alive = 0
    for worker in workers:
        silent = now - worker.last_seen
        if silent <= window:
            alive += 1
        elif silent <= FORGOTTEN_AFTER:
            checks.append(
                warn(
                    f"worker {worker.name}",
                    f"worker {worker.name} sent its last heartbeat {ago(worker.last_seen, now)} "
                    f"(expected every {settings.heartbeat_interval:g} s; lost after "
                    f"{settings.worker_lost_after:g} s)",
                    f"on {worker.name}: `systemctl status roundhouse-worker`, its log, and its "
                    "connection to RabbitMQ (`roundhouse doctor --worker` there)",
                )
            )
    return [ok("heartbeats", f"{alive} of {len(workers)} workers alive"), *checks]


async def problems(sessions: SessionFactory, settings: Settings) -> list[Check]:
    """Live workers that the platform refuses to give jobs, and why."""
    since = utcnow() - timedelta(seconds=settings.worker_lost_after)
    async with sessions() as session:
        rows = await session.scalars(
            select(Worker).where(Worker.last_seen >= since, Worker.problem.is_not(None))
        )
        refused = list(rows)
    checks = []
    for worker in refused:
        if worker.problem == TOKEN_REJECTED:
            fix = (
                "run `roundhouse workers token` here and set TOKEN= to it in "
                f"/etc/default/roundhouse-worker on {worker.name}, then restart that worker"
            )
        else:
            fix = f"install the same roundhouse version on {worker.name} and on the platform"
        checks.append(fail(f"worker {worker.name}", f"worker {worker.name}: {worker.problem}", fix))
    return checks or [ok("worker versions", "every live worker speaks this platform's protocol")]
