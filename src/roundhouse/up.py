"""`roundhouse up`: the platform and a local worker in one process, sharing the in-process
broker. The only module that composes platform and worker; neither imports the other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from roundhouse.platform.app import create_app
from roundhouse.platform.services import Services
from roundhouse.settings import Settings
from roundhouse.worker.backends import make_backend
from roundhouse.worker.worker import Worker


@dataclass
class AllInOne:
    services: Services
    worker: Worker
    app: FastAPI

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
        )
        app = create_app(services, manage_services=False)
        instance = cls(services, worker, app)
        app.router.lifespan_context = instance.lifespan
        return instance

    async def start(self) -> None:
        await self.services.start()
        await self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()
        await self.services.stop()

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()


def serve(settings: Settings) -> None:
    """Run until interrupted; prints the URL and admin token once listening."""
    instance = AllInOne.create(settings)
    config = uvicorn.Config(
        instance.app,
        host=settings.listen_host,
        port=settings.listen_port,
        log_level="warning" if settings.log_level == "info" else settings.log_level,
        lifespan="on",
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.05)
        if server.started:
            print(f"Roundhouse is running at {settings.public_url}", flush=True)
            print(f"Admin API token: {instance.services.admin_token}", flush=True)
            print(f"(also in {settings.data_dir / 'admin-token'}; stop with Ctrl-C)", flush=True)
        await serving

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(main())
