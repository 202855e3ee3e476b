"""`roundhouse repo add|list|remove`: the repositories the platform builds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from roundhouse.cli.common import JsonOpt, TokenOpt, UrlOpt, app, echo_json
from roundhouse.client import Client

repo_app = typer.Typer(no_args_is_help=True, help="Repositories.")
app.add_typer(repo_app, name="repo")


@repo_app.command("add")
def repo_add(
    url: str,
    slug: Annotated[str | None, typer.Option(help="owner/name (default: from the URL).")] = None,
    webhook_secret: Annotated[
        str | None, typer.Option(help="Secret for webhooks; turns polling off.")
    ] = None,
    server: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a repository from any git URL (file://, https://, ssh)."""
    if "://" not in url and Path(url).exists():
        url = Path(url).resolve().as_uri()
    repo = Client(server, token).post(
        "/api/repos", {"url": url, "slug": slug, "webhook_secret": webhook_secret}
    )
    echo_json(repo) if as_json else typer.echo(f"Added {repo['slug']} ({repo['url']})")


@repo_app.command("list")
def repo_list(server: UrlOpt = None, token: TokenOpt = None, as_json: JsonOpt = False) -> None:
    """List repositories with their last build."""
    repos = Client(server, token).get("/api/repos")["repositories"]
    if as_json:
        return echo_json(repos)
    for repo in repos:
        last = repo["last_build"]
        state = f"#{last['number']} {last['state']}" if last else "no builds"
        typer.echo(f"{repo['slug']:40} {state:20} {repo['url']}")


@repo_app.command("remove")
def repo_remove(slug: str, server: UrlOpt = None, token: TokenOpt = None) -> None:
    """Remove a repository and its builds."""
    Client(server, token).delete(f"/api/repo/{slug}")
    typer.echo(f"Removed {slug}")
