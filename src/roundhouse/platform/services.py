"""All platform services wired together, started and stopped in the right order.

The web app, `roundhouse up` and the tests build one Services and hand it around.
"""

from __future__ import annotations

from dataclasses import dataclass

from roundhouse.broker import Broker, make_broker
from roundhouse.db.session import make_engine, make_sessions, migrate
from roundhouse.platform.auth import ensure_admin
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.crons import CronScheduler
from roundhouse.platform.gatekeeper import Gatekeeper
from roundhouse.platform.hub import Hub
from roundhouse.platform.keys import RepositoryKeys
from roundhouse.platform.locks import transaction_lock
from roundhouse.platform.logs import LogService
from roundhouse.platform.metrics import Metrics
from roundhouse.platform.notify import Notifier
from roundhouse.platform.poller import Poller
from roundhouse.platform.reconciler import Reconciler
from roundhouse.platform.rekey import check_instance_key, seal_plain_values
from roundhouse.platform.scheduler import Scheduler
from roundhouse.platform.statuses import StatusReporter
from roundhouse.platform.sync.runner import SyncRunner
from roundhouse.platform.triggers import Triggers
from roundhouse.platform.workers import WorkerRegistry
from roundhouse.settings import Settings, check_oauth_callbacks


@dataclass
class Services:
    ctx: PlatformContext
    scheduler: Scheduler
    gatekeeper: Gatekeeper
    triggers: Triggers
    hub: Hub
    logs: LogService
    poller: Poller
    workers: WorkerRegistry
    reconciler: Reconciler
    statuses: StatusReporter
    keys: RepositoryKeys
    metrics: Metrics
    notifier: Notifier
    crons: CronScheduler
    sync: SyncRunner
    admin_token: str = ""

    @classmethod
    def create(cls, settings: Settings, broker: Broker | None = None) -> Services:
        engine = make_engine(settings.database_url)
        ctx = PlatformContext(
            settings, make_sessions(engine), broker or make_broker(settings.broker_url)
        )
        scheduler = Scheduler(ctx)
        gatekeeper = Gatekeeper(ctx, scheduler)
        logs = LogService(ctx)
        hub = Hub(ctx, scheduler, logs)
        triggers = Triggers(ctx, gatekeeper, hub)
        statuses = StatusReporter(ctx)
        ctx.build_listeners.append(statuses.build_changed)
        keys = RepositoryKeys(ctx)
        notifier = Notifier(ctx, keys)
        ctx.build_listeners.append(notifier.build_changed)
        metrics = Metrics()
        ctx.job_listeners.append(metrics.job_changed)
        return cls(
            ctx=ctx,
            scheduler=scheduler,
            gatekeeper=gatekeeper,
            triggers=triggers,
            hub=hub,
            logs=logs,
            poller=Poller(ctx, triggers),
            workers=WorkerRegistry(ctx),
            reconciler=Reconciler(ctx, scheduler, hub),
            statuses=statuses,
            keys=keys,
            metrics=metrics,
            notifier=notifier,
            crons=CronScheduler(ctx, triggers),
            sync=SyncRunner(ctx),
        )

    async def start(self, *, poll: bool = True) -> None:
        settings = self.ctx.settings
        check_oauth_callbacks(settings)  # also when the settings were not made by load()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrate(settings.database_url)
        async with self.ctx.sessions() as session, session.begin():
            await check_instance_key(session, self.ctx.at_rest)
            await seal_plain_values(session, self.ctx.at_rest)
            # Platform processes starting together: one creates the admin account.
            await transaction_lock(session, "roundhouse:admin")
            self.admin_token = await ensure_admin(session, settings.data_dir)
        await self.ctx.broker.connect()
        await self.hub.start()
        await self.logs.start()
        await self.workers.start()
        await self.reconciler.start()
        self.crons.start()
        self.sync.start()
        if poll:
            self.poller.start()

    async def stop(self) -> None:
        await self.sync.stop()
        await self.reconciler.stop()
        await self.crons.stop()
        await self.poller.stop()
        await self.triggers.drain()
        await self.workers.stop()
        await self.hub.stop()
        await self.statuses.stop()
        await self.notifier.stop()
        await self.logs.stop()
        await self.ctx.broker.close()
        engine = self.ctx.sessions.kw.get("bind")
        if engine is not None:
            await engine.dispose()
