"""`roundhouse cron add|list|remove`: cron builds of a repository's branches."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from urllib.parse import quote

import typer

from roundhouse.cli.common import JsonOpt, TokenOpt, UrlOpt, app, echo_json
from roundhouse.client import Client

cron_app = typer.Typer(no_args_is_help=True, help="Cron builds (daily, weekly, monthly).")
app.add_typer(cron_app, name="cron")


class Interval(StrEnum):
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"


@cron_app.command("add")
def cron_add(
    slug: str,
    branch: str,
    interval: Annotated[Interval, typer.Option(help="How often the branch is built.")],
    dont_run_if_recent_build_exists: Annotated[
        bool,
        typer.Option(help="Skip a run when the branch was built in the last 24 hours."),
    ] = False,
    server: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build BRANCH of SLUG every day, week or month (replaces the branch's cron)."""
    body = {
        "branch": branch,
        "interval": interval.value,
        "dont_run_if_recent_build_exists": dont_run_if_recent_build_exists,
    }
    cron = Client(server, token).post(f"/api/repo/{slug}/crons", body)
    if as_json:
        return echo_json(cron)
    typer.echo(f"Cron {cron['interval']} for {slug} {branch}; next run {cron['next_run_at']}")


@cron_app.command("list")
def cron_list(
    slug: str, server: UrlOpt = None, token: TokenOpt = None, as_json: JsonOpt = False
) -> None:
    """List the crons of a repository."""
    crons = Client(server, token).get(f"/api/repo/{slug}/crons")["crons"]
    if as_json:
        return echo_json(crons)
    if not crons:
        typer.echo(f"{slug} has no crons.")
    for cron in crons:
        skip = " (skips if built in 24 h)" if cron["dont_run_if_recent_build_exists"] else ""
        typer.echo(
            f"{cron['branch']:30} {cron['interval']:8} next {cron['next_run_at']} "
            f"last {cron['last_run_at'] or 'never'}{skip}"
        )


@cron_app.command("remove")
def cron_remove(slug: str, branch: str, server: UrlOpt = None, token: TokenOpt = None) -> None:
    """Remove the cron of BRANCH."""
    Client(server, token).delete(f"/api/repo/{slug}/crons?branch={quote(branch, safe='')}")
    typer.echo(f"Removed the cron of {slug} {branch}")
