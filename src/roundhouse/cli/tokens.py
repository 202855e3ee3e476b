"""`roundhouse tokens create|list|revoke`: the caller's own API tokens, through the API
(docs/api-people.md); a token is printed once, when it is made.
"""

from __future__ import annotations

from typing import Annotated

import typer

from roundhouse.cli.common import JsonOpt, TokenOpt, UrlOpt, app, echo_json
from roundhouse.client import Client

tokens_app = typer.Typer(help="Your API tokens: create, list, revoke.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")


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
