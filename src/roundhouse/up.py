"""`roundhouse up`: the platform and a local worker in one process, sharing the in-process
broker. The only module that composes platform and worker; neither imports the other.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI

from roundhouse.logformat import configure_logging
from roundhouse.platform.app import create_app
from roundhouse.platform.services import Services
from roundhouse.platform.workertoken import worker_token
from roundhouse.settings import Settings
from roundhouse.tokenfile import ADMIN_TOKEN_FILE
from roundhouse.webserver import server_config
from roundhouse.worker.backends import make_backend
from roundhouse.worker.worker import Worker


@dataclass
class AllInOne:
    services: Services
    worker: Worker
    app: FastAPI = field(init=False)

    @classmethod
    def create(cls, settings: Settings) -> AllInOne:
        services = Services.create(settings)
        worker = Worker(
            services.ctx.broker,
            make_backend(settings),
            name=f"{settings.name}-local",
            queues=settings.queues,
            pool_size=settings.pool_size,
            work_dir=settings.work_dir.resolve(),
            heartbeat_interval=settings.heartbeat_interval,
            outbox_memory=settings.outbox_memory_mb * 1024 * 1024,
            token=worker_token(settings),
        )
        instance = cls(services, worker)
        instance.app = create_app(services, start=instance.start, stop=instance.stop)
        return instance

    async def start(self) -> None:
        await self.services.start()
        await self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()
        await self.services.stop()


def serve(settings: Settings) -> None:
    """Run until interrupted; prints the URL and admin token once listening. SettingsError
    when the TLS files are wrong."""
    configure_logging(settings.log_level, settings.log_format)
    instance = AllInOne.create(settings)
    server = uvicorn.Server(server_config(settings, instance.app))

    async def main() -> None:
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.05)
        if server.started:
            print(f"Roundhouse is running at {settings.public_url}", flush=True)
            print(f"Admin API token: {instance.services.admin_token}", flush=True)
            token_file = settings.data_dir / ADMIN_TOKEN_FILE
            print(f"(also in {token_file}; stop with Ctrl-C)", flush=True)
        await serving

    asyncio.run(main())
