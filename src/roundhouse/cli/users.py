"""`roundhouse users list|suspend|unsuspend|sync|reset-sync`: users administration through the
API (an administrator's token; docs/operations.md, "Users").
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from roundhouse.cli.common import JsonOpt, TokenOpt, UrlOpt, app, echo_json, fail
from roundhouse.client import Client

users_app = typer.Typer(no_args_is_help=True, help="Users: list, suspend, sync.")
app.add_typer(users_app, name="users")


def _line(user: dict[str, Any]) -> str:
    state = "suspended" if user["suspended"] else "active"
    sync = user["sync"]
    text = f"{user['login']:24} {state:10} {'admin' if user['is_admin'] else '':6} sync: "
    text += sync["state"]
    if sync["state"] in ("syncing", "stale"):
        text += f" (lease until {sync['lease_expires_at']})"
    elif sync["synced_at"]:
        text += f" (last {sync['synced_at']})"
    if sync["error"]:
        text += f"; {sync['error']}"
    return text


@users_app.command("list")
def users_list(
    active: Annotated[bool, typer.Option("--active", help="Only users not suspended.")] = False,
    suspended: Annotated[bool, typer.Option("--suspended", help="Only suspended users.")] = False,
    server: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Users with their state and code-host sync state."""
    if active and suspended:
        fail("Give --active or --suspended, not both.")
    params = {"state": "active"} if active else {"state": "suspended"} if suspended else {}
    rows = Client(server, token).get("/api/users", **params)["users"]
    if as_json:
        return echo_json(rows)
    for row in rows:
        typer.echo(_line(row))


@users_app.command("suspend")
def suspend(login: str, server: UrlOpt = None, token: TokenOpt = None) -> None:
    """Suspend LOGIN: their API tokens stop working at once and their requests do not build."""
    Client(server, token).post(f"/api/users/{login}/suspend")
    typer.echo(f"Suspended {login}: their tokens are refused and their requests do not build.")


@users_app.command("unsuspend")
def unsuspend(login: str, server: UrlOpt = None, token: TokenOpt = None) -> None:
    """Lift the suspension of LOGIN."""
    Client(server, token).post(f"/api/users/{login}/unsuspend")
    typer.echo(f"{login} is active again.")


@users_app.command("sync")
def sync(login: str, server: UrlOpt = None, token: TokenOpt = None) -> None:
    """Ask for a code-host sync of LOGIN's repositories and permissions."""
    answer = Client(server, token).post(f"/api/users/{login}/sync")
    typer.echo(answer["message"])


@users_app.command("reset-sync")
def reset_sync(
    login: Annotated[
        str | None, typer.Argument(help="Only this user (default: everybody).")
    ] = None,
    server: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Free the sync lease of LOGIN, or of every user syncing, so a new sync can start."""
    reset = Client(server, token).post("/api/users/reset_sync", {"login": login})["reset"]
    if not reset:
        typer.echo(f"{login} is not syncing." if login else "Nobody is syncing.")
        return
    typer.echo(f"Reset the sync of {', '.join(reset)}.")
