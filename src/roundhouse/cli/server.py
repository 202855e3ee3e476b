"""`roundhouse up`: the platform and a local worker in one process."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from roundhouse.cli.common import ConfigOpt, app, fail


@app.command()
def up(
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the database, logs and token live.")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    # Strings on purpose: the settings check says what is wrong with a value, in one sentence.
    port: Annotated[str | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[str | None, typer.Option(help="Local job slots.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Platform and a local worker in one process: SQLite, in-process broker, zero set-up."""
    from roundhouse import settings as settings_module
    from roundhouse.platform.rekey import check_before_start
    from roundhouse.up import serve

    try:
        settings = settings_module.load(
            config, data_dir=data_dir, listen_host=host, listen_port=port, pool_size=workers
        )
        # Read (or make) the instance key and check it against the database now: a bad one is
        # one sentence here, not a traceback from inside the web server's start-up.
        check_before_start(settings)
    except settings_module.SettingsError as error:
        fail(str(error))
    try:
        serve(settings)
    except settings_module.SettingsError as error:  # e.g. the worker's backend cannot run here
        fail(str(error))
