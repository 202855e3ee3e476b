"""`roundhouse users list|add|suspend|unsuspend|grant|revoke|sync|reset-sync`: users and their
roles, through the API (an administrator's token; docs/operations.md, "Users").
"""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any
from urllib.parse import quote

import typer

from roundhouse.cli.common import JsonOpt, TokenOpt, UrlOpt, app, echo_json, fail
from roundhouse.client import Client

users_app = typer.Typer(no_args_is_help=True, help="Users: list, add, suspend, roles, sync.")
app.add_typer(users_app, name="users")


def _line(user: dict[str, Any]) -> str:
    state = "suspended" if user["suspended"] else "active"
    sync = user["sync"]
    text = f"{user['login']:24} {state:10} {'admin' if user['admin'] else '':6} sync: "
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
    Client(server, token).post(f"/api/users/{quote(login, safe='')}/suspend")
    typer.echo(f"Suspended {login}: their tokens are refused and their requests do not build.")


@users_app.command("unsuspend")
def unsuspend(login: str, server: UrlOpt = None, token: TokenOpt = None) -> None:
    """Lift the suspension of LOGIN."""
    Client(server, token).post(f"/api/users/{quote(login, safe='')}/unsuspend")
    typer.echo(f"{login} is active again.")


@users_app.command("sync")
def sync(
    login: str,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait for the outcome (default).")
    ] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait at most.")] = 600.0,
    server: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Sync LOGIN's repositories and permissions from their forges now."""
    client = Client(server, token)
    answer = client.post(f"/api/users/{quote(login, safe='')}/sync")
    if not wait:
        typer.echo(answer["message"])
        return
    before = answer["user"]["sync"]["finished_at"]
    deadline = time.monotonic() + timeout
    while True:
        users = client.get("/api/users")["users"]
        state = next(u["sync"] for u in users if u["login"] == answer["user"]["login"])
        if state["finished_at"] != before and state["state"] != "syncing":
            break
        if time.monotonic() > deadline:
            fail(
                f"The sync of {login} did not end within {timeout:g} s;"
                " `roundhouse users list` shows its state."
            )
        time.sleep(0.5)  # an operator's command polling the API, not a test
    if state["error"]:
        fail(f"The sync of {login} failed: {state['error']}")
    typer.echo(f"Synced {login} ({state['synced_at']}).")


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


@users_app.command("add")
def add(
    login: str,
    admin: Annotated[bool, typer.Option("--admin", help="An instance administrator.")] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    email: Annotated[str, typer.Option(help="E-mail address.")] = "",
    server: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Add a user who signs in with a password (--password-stdin), or with a forge, or tokens."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            fail("--password-stdin read no password from standard input.")
    body = {"login": login, "admin": admin, "name": name, "email": email, "password": password}
    Client(server, token).post("/api/users", body)
    typer.echo(f"Added user {login}" + (" (administrator)" if admin else ""))


@users_app.command("grant")
def grant(
    login: str,
    slug: str,
    role: Annotated[str, typer.Argument(help="pull, push or admin")],
    server: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Give LOGIN a role on repository SLUG (needs admin on it)."""
    if role not in ("pull", "push", "admin"):
        fail(f"{role!r} is not a role: use pull, push or admin.")
    path = f"/api/repo/{quote(slug, safe='')}/permissions/{quote(login, safe='')}"
    Client(server, token).put(path, {"role": role})
    typer.echo(f"{login} has {role} access to {slug}")


@users_app.command("revoke")
def revoke(login: str, slug: str, server: UrlOpt = None, token: TokenOpt = None) -> None:
    """Take LOGIN's role on repository SLUG away."""
    Client(server, token).delete(
        f"/api/repo/{quote(slug, safe='')}/permissions/{quote(login, safe='')}"
    )
    typer.echo(f"{login} has no role on {slug} any more")
