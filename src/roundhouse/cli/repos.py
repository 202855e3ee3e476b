"""`roundhouse repo add|list|remove|available|activate`: the repositories the platform builds,
and those of your forges that your last code-host sync found (`repos` is the same group).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from roundhouse.cli.common import JsonOpt, TokenOpt, UrlOpt, app, echo_json, fail
from roundhouse.client import Client

repo_app = typer.Typer(no_args_is_help=True, help="Repositories.")
app.add_typer(repo_app, name="repo")
app.add_typer(repo_app, name="repos", hidden=True)


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


@repo_app.command("available")
def repo_available(
    every: Annotated[bool, typer.Option("--all", help="Also those active already.")] = False,
    server: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Repositories your forges show you, as your last sync found them, not active yet."""
    found = Client(server, token).get("/api/user/forge_repos")
    rows = [r for r in found["forge_repositories"] if every or not r["active"]]
    if as_json:
        return echo_json(rows)
    if not rows:
        sync = found["sync"]
        why = f" ({sync['error']})" if sync["error"] else ""
        typer.echo(f"Nothing to activate; your sync: {sync['state']}{why}.")
    for row in rows:
        privacy = "private" if row["private"] else "public"
        active = "  active" if row["active"] else ""
        typer.echo(
            f"{row['id']:>6}  {row['forge']:7} {row['slug']:40} {row['role']:6} {privacy}{active}"
        )


@repo_app.command("activate")
def repo_activate(
    repository: Annotated[str, typer.Argument(help="owner/name, or its id in `repo available`.")],
    server: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build a repository of your forge here (needs admin on it at the forge)."""
    client = Client(server, token)
    ident = repository
    if not repository.isdigit():
        rows = client.get("/api/user/forge_repos")["forge_repositories"]
        matches = [r for r in rows if r["slug"].lower() == repository.lower()]
        if not matches:
            fail(
                f"Your last sync found no repository {repository}; `roundhouse repo available`"
                " lists what it found, `roundhouse users sync` syncs again."
            )
        if len(matches) > 1:
            forges = ", ".join(r["forge"] for r in matches)
            fail(f"{repository} is on several forges ({forges}); give its id instead.")
        ident = str(matches[0]["id"])
    repo = client.post(f"/api/user/forge_repos/{ident}/activate")
    if as_json:
        return echo_json(repo)
    privacy = "private" if repo["private"] else "public"
    typer.echo(f"Activated {repo['slug']} from {repo['forge']} ({privacy}); you are its admin.")
