"""The one `roundhouse` command line (typer); each command delegates to a module.

Errors print one sentence on stderr and exit non-zero; --debug shows the traceback.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from typer.exceptions import TyperException

from roundhouse.cli import (
    builds,
    console,
    crons,
    daemons,
    doctor,
    env,
    fleet,
    image,
    keys,
    local,
    ops,
    repos,
    server,
    tokens,
    users,
    yml,
)
from roundhouse.cli.common import app
from roundhouse.client import ClientError

# Importing a command module registers its commands on `app`.
COMMAND_MODULES = (
    server,
    daemons,
    repos,
    crons,
    builds,
    fleet,
    yml,
    local,
    ops,
    keys,
    env,
    users,
    doctor,
    console,
    image,
    tokens,
)


def main() -> None:
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        code = app(standalone_mode=False)
    except TyperException as error:
        usage_error(error)
    except typer.Abort:
        sys.exit(130)
    except ClientError as error:
        if debug:
            raise
        typer.echo(f"roundhouse: {error}", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def usage_error(error: TyperException) -> NoReturn:
    """One sentence like every other error, instead of typer's boxed usage text."""
    message: str = getattr(error, "format_message", lambda: str(error))()
    ctx = getattr(error, "ctx", None)
    if type(error).__name__ == "NoArgsIsHelpError":  # a bare command group: its help
        # With rich installed typer has printed the help already and the message is empty.
        if message.strip():
            typer.echo(message)
        sys.exit(0)
    command = ctx.command_path if ctx is not None else "roundhouse"
    typer.echo(f"roundhouse: {message} (see `{command} --help`)", err=True)
    sys.exit(getattr(error, "exit_code", 2))
