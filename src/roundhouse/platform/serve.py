"""`roundhouse platform`: the web UI, API, hub, scheduler, log service and reconciler, with
no worker; any number of these processes may share one PostgreSQL and one RabbitMQ.
"""

from __future__ import annotations

import asyncio

import uvicorn

from roundhouse.logformat import configure_logging
from roundhouse.platform.app import create_app
from roundhouse.platform.services import Services
from roundhouse.settings import Settings
from roundhouse.tokenfile import ADMIN_TOKEN_FILE
from roundhouse.webserver import server_config


def serve(settings: Settings) -> None:
    """Run until SIGTERM or Ctrl-C; prints the URL once listening. SettingsError when the
    TLS files are wrong."""
    configure_logging(settings.log_level, settings.log_format)
    services = Services.create(settings)
    server = uvicorn.Server(server_config(settings, create_app(services)))

    async def main() -> None:
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.05)
        if server.started:
            print(f"Roundhouse platform is running at {settings.public_url}", flush=True)
            print(f"Admin API token in {settings.data_dir / ADMIN_TOKEN_FILE}", flush=True)
        await serving

    asyncio.run(main())
