"""`roundhouse platform`: the web UI, API, hub, scheduler, log service and reconciler, with
no worker; any number of these processes may share one PostgreSQL and one RabbitMQ.
"""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from roundhouse.platform.app import create_app
from roundhouse.platform.services import Services
from roundhouse.settings import ADMIN_TOKEN_FILE, Settings


def serve(settings: Settings) -> None:
    """Run until SIGTERM or Ctrl-C; prints the URL once listening."""
    services = Services.create(settings)
    config = uvicorn.Config(
        create_app(services),
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
            print(f"Roundhouse platform is running at {settings.public_url}", flush=True)
            print(f"Admin API token in {settings.data_dir / ADMIN_TOKEN_FILE}", flush=True)
        await serving

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(main())
