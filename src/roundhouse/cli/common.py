"""What every `roundhouse` subcommand shares: the typer app, common options, error output.

Commands live in sibling modules by concern; `roundhouse.cli` imports them to register them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Roundhouse: CI for .travis.yml."
)

UrlOpt = Annotated[str | None, typer.Option("--url", help="Platform URL (ROUNDHOUSE_URL).")]
TokenOpt = Annotated[str | None, typer.Option("--token", help="API token (ROUNDHOUSE_TOKEN).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Settings file (TOML).")]


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"roundhouse: {message}", err=True)
    raise typer.Exit(code)


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))
