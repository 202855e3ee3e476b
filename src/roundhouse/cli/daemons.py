"""`roundhouse platform` and `roundhouse worker`: the two roles of a production installation.

Both take their settings from the usual sources (docs/operations.md); the worker also reads
/etc/default/roundhouse-worker. Neither works with the in-process broker, which only joins
the two inside `roundhouse up`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from roundhouse.cli.common import ConfigOpt, app, fail

if TYPE_CHECKING:  # imported when a command runs: `roundhouse matrix` needs no settings
    from roundhouse.settings import Settings


def _needs_rabbitmq(settings: Settings, role: str) -> None:
    if settings.broker_url.startswith("memory://"):
        fail(
            f"roundhouse {role} needs RabbitMQ: set broker_url (ROUNDHOUSE_BROKER_URL) to "
            "amqp://user:password@host:5672/vhost; the in-process broker only works inside "
            "`roundhouse up`."
        )


@app.command()
def platform(
    config: ConfigOpt = None,
    port: Annotated[str | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Platform only (web UI, API, hub, scheduler, logs); settings decide database and broker."""
    from roundhouse import settings as settings_module
    from roundhouse.settings import SettingsError

    try:
        settings = settings_module.load(config, listen_port=port)
    except SettingsError as error:
        fail(str(error))
    _needs_rabbitmq(settings, "platform")
    from roundhouse.platform.rekey import check_before_start
    from roundhouse.platform.serve import serve

    try:
        check_before_start(settings)
        serve(settings)
    except SettingsError as error:  # a wrong key; the TLS certificate and key do not match
        fail(str(error))


@app.command()
def worker(
    config: ConfigOpt = None,
    name: Annotated[str | None, typer.Option(help="Worker name (default: host name).")] = None,
    queues: Annotated[
        str | None, typer.Option(help="Queues to take jobs from, comma-separated.")
    ] = None,
    pool_size: Annotated[str | None, typer.Option(help="Jobs at once.")] = None,
) -> None:
    """One worker; settings from /etc/default/roundhouse-worker, ROUNDHOUSE_* or --config."""
    from roundhouse import settings as settings_module
    from roundhouse.settings import SettingsError

    try:
        settings = settings_module.load(
            config, worker=True, name=name, queues=queues, pool_size=pool_size
        )
    except SettingsError as error:
        fail(str(error))
    _needs_rabbitmq(settings, "worker")
    from roundhouse.worker.daemon import main

    raise typer.Exit(main(settings))
