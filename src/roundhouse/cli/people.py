"""`roundhouse users` and `roundhouse tokens`: accounts, suspensions, roles, API tokens.

They talk to the platform's API (docs/api-people.md); users commands need an instance admin.
"""

from __future__ import annotations

import sys
from typing import Annotated
from urllib.parse import quote

import typer

from roundhouse.cli.common import JsonOpt, TokenOpt, UrlOpt, app, echo_json, fail
from roundhouse.client import Client

users_app = typer.Typer(
    help="Users: list (default), add, suspend, roles.", invoke_without_command=True
)
tokens_app = typer.Typer(help="Your API tokens: create, list, revoke.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")


@users_app.callback()
def users(
    ctx: typer.Context, server: UrlOpt = None, token: TokenOpt = None, as_json: JsonOpt = False
) -> None:
    """Every user: login, admin, suspended, whether a password is set."""
    if ctx.invoked_subcommand is not None:
        return
    rows = Client(server, token).get("/api/users")["users"]
    if as_json:
        return echo_json(rows)
    for user in rows:
        flags = [f for f, on in (("admin", user["admin"]), ("suspended", user["suspended"])) if on]
        password = "password" if user["password_set"] else "no password"
        typer.echo(f"{user['login']:24} {password:12} {' '.join(flags)}")


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


def _change(login: str, server: str | None, token: str | None, **change: bool) -> None:
    Client(server, token).patch(f"/api/users/{quote(login, safe='')}", change)


@users_app.command("suspend")
def suspend(login: str, server: UrlOpt = None, token: TokenOpt = None) -> None:
    """Refuse the user's tokens and sessions and start none of their builds."""
    _change(login, server, token, suspended=True)
    typer.echo(f"Suspended {login}")


@users_app.command("unsuspend")
def unsuspend(login: str, server: UrlOpt = None, token: TokenOpt = None) -> None:
    """Let a suspended user in again."""
    _change(login, server, token, suspended=False)
    typer.echo(f"{login} is no longer suspended")


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


@tokens_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="What the token is for.")] = "",
    server: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Make an API token; it is printed this once and never shown again."""
    made = Client(server, token).post("/api/tokens", {"name": name})
    typer.echo(made["token"])
    typer.echo(f"Token {made['id']} made; keep it now, it is not shown again.", err=True)


@tokens_app.command("list")
def list_tokens(server: UrlOpt = None, token: TokenOpt = None, as_json: JsonOpt = False) -> None:
    """Your tokens: id, name, when made and last used (never the token itself)."""
    rows = Client(server, token).get("/api/tokens")["tokens"]
    if as_json:
        return echo_json(rows)
    for row in rows:
        used = row["last_used_at"] or "never used"
        typer.echo(f"{row['id']:6} {row['name'] or '-':24} made {row['created_at']}  {used}")


@tokens_app.command("revoke")
def revoke_token(token_id: int, server: UrlOpt = None, token: TokenOpt = None) -> None:
    """Revoke token TOKEN_ID: requests carrying it are refused from now on."""
    Client(server, token).delete(f"/api/tokens/{token_id}")
    typer.echo(f"Revoked token {token_id}")
