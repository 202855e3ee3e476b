"""`roundhouse env list|set|unset`: a repository's settings variables (Travis's Settings →
Environment Variables), through the API; private values are written, never shown.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from roundhouse.cli.common import JsonOpt, TokenOpt, UrlOpt, app, echo_json, fail
from roundhouse.client import Client

env_app = typer.Typer(no_args_is_help=True, help="Repository environment variables.")
app.add_typer(env_app, name="env")

BranchOpt = Annotated[
    str | None, typer.Option("--branch", help="Only builds of this branch get it.")
]


def _find(rows: list[dict[str, Any]], name: str, branch: str | None) -> dict[str, Any] | None:
    return next((r for r in rows if r["name"] == name and r["branch"] == branch), None)


def _describe(row: dict[str, Any]) -> str:
    value = row["value"] if row["public"] else "[secure]"
    scope = f"  (branch {row['branch']})" if row["branch"] else ""
    return f"{row['name']}={value}{scope}"


def _read_value(name: str) -> str:
    """The value from stdin when piped, else asked for without echo (not in shell history)."""
    if not sys.stdin.isatty():
        return sys.stdin.read().removesuffix("\n")
    value: str = typer.prompt(f"Value of {name}", hide_input=True)
    return value


@env_app.command("list")
def env_list(
    slug: str, server: UrlOpt = None, token: TokenOpt = None, as_json: JsonOpt = False
) -> None:
    """List the variables of repository SLUG (private values show as [secure])."""
    rows = Client(server, token).get(f"/api/repo/{slug}/env_vars")["env_vars"]
    if as_json:
        return echo_json(rows)
    if not rows:
        typer.echo(f"{slug} has no environment variables.")
    for row in rows:
        typer.echo(_describe(row))


@env_app.command("set")
def env_set(
    slug: str,
    name: str,
    value: Annotated[
        str | None, typer.Argument(help="The value; without it, read from stdin or asked for.")
    ] = None,
    public: Annotated[
        bool, typer.Option("--public", help="Show the value in logs and the API.")
    ] = False,
    branch: BranchOpt = None,
    server: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add variable NAME to repository SLUG, or replace its value (private unless --public)."""
    client = Client(server, token)
    if value is None:
        value = _read_value(name)
    body = {"name": name, "value": value, "public": public, "branch": branch}
    rows = client.get(f"/api/repo/{slug}/env_vars")["env_vars"]
    found = _find(rows, name, branch)
    if found is None:
        row = client.post(f"/api/repo/{slug}/env_vars", body)
    else:
        row = client.patch(f"/api/repo/{slug}/env_vars/{found['id']}", body)
    if as_json:
        return echo_json(row)
    typer.echo(f"{'Added' if found is None else 'Changed'} {_describe(row)} on {slug}")


@env_app.command("unset")
def env_unset(
    slug: str, name: str, branch: BranchOpt = None, server: UrlOpt = None, token: TokenOpt = None
) -> None:
    """Remove variable NAME (of --branch, else the one for every branch) from repository SLUG."""
    client = Client(server, token)
    found = _find(client.get(f"/api/repo/{slug}/env_vars")["env_vars"], name, branch)
    if found is None:
        scope = f" for branch {branch}" if branch else ""
        fail(f"{slug} has no variable {name}{scope}; `roundhouse env list {slug}` shows them.")
    client.delete(f"/api/repo/{slug}/env_vars/{found['id']}")
    typer.echo(f"Removed {name} from {slug}")
