"""`roundhouse doctor` on a platform machine: every platform check, in the order an operator
would look (broker and database first; the rest needs the database).

run_platform_checks is a plain function: the CLI calls it with settings alone, GET
/api/doctor (and the admin dashboard) with the running platform's sessions and broker.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack

from roundhouse.broker.base import Broker
from roundhouse.db.session import SessionFactory, make_engine, make_sessions
from roundhouse.ops.doctor import broker as broker_checks
from roundhouse.ops.doctor import fleet, jobs, queues, storage, tls, users
from roundhouse.ops.doctor.check import Check
from roundhouse.ops.doctor.database import database
from roundhouse.settings import Settings


async def run_platform_checks(
    settings: Settings,
    *,
    sessions: SessionFactory | None = None,
    broker: Broker | None = None,
    oauth_callbacks: Mapping[str, str] | None = None,
) -> list[Check]:
    """Every platform check. Without sessions, the database of the settings is opened (and
    closed); with broker (the platform's own), queue depths come from it."""
    async with AsyncExitStack() as stack:
        connection_check, connection = await broker_checks.connect(settings.broker_url)
        if connection is not None:
            stack.push_async_callback(connection.close)
        checks = [connection_check]
        if sessions is None:
            engine = make_engine(settings.database_url)
            stack.push_async_callback(engine.dispose)
            sessions = make_sessions(engine)
        checks.append(await database(sessions, settings.database_url))
        if checks[-1].status != "FAIL":
            queue_info: queues.QueueInfoFn | None = None
            if broker is not None:
                queue_info = broker.queue_info
            elif connection is not None:
                queue_info = broker_checks.queue_info_of(connection)
            checks += await _with_database(settings, sessions, queue_info)
        checks += await tls.platform_certificate(settings)
        callbacks = (
            tls.configured_callbacks(settings) if oauth_callbacks is None else oauth_callbacks
        )
        checks += tls.oauth_callbacks(settings.public_url, callbacks)
        checks.append(storage.disk_space(settings.data_dir))
        checks.append(storage.backup_age(settings))
        return checks


async def _with_database(
    settings: Settings, sessions: SessionFactory, queue_info: queues.QueueInfoFn | None
) -> list[Check]:
    checks = await queues.unserved_queues(sessions, settings, queue_info)
    checks += await fleet.heartbeats(sessions, settings)
    checks += await fleet.problems(sessions, settings)
    checks.append(jobs.stuck_check(await jobs.find_stuck(sessions, settings), settings))
    checks.append(await storage.log_growth(sessions, settings))
    checks += await users.stuck_sync_check(settings, sessions)
    return checks
