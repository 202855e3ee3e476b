"""`roundhouse workers` and `roundhouse queues`: who takes jobs, and why jobs wait."""

from __future__ import annotations

import typer

from roundhouse.cli.common import JsonOpt, TokenOpt, UrlOpt, app, echo_json
from roundhouse.client import Client

workers_app = typer.Typer(
    help="Workers: list (default), drain one, or print the worker token.",
    invoke_without_command=True,
)
app.add_typer(workers_app, name="workers")


@workers_app.callback()
def workers(
    ctx: typer.Context, server: UrlOpt = None, token: TokenOpt = None, as_json: JsonOpt = False
) -> None:
    """Workers that sent a heartbeat: alive or not, version, queues, jobs, problems."""
    if ctx.invoked_subcommand is not None:
        return
    answer = Client(server, token).get("/api/workers")
    rows = answer["workers"]
    if as_json:
        return echo_json(rows)
    if not rows:
        typer.echo("No worker has sent a heartbeat yet.")
        return
    for w in rows:
        state = "alive" if w["alive"] else f"silent since {w['last_seen']}"
        typer.echo(
            f"{w['name']:24} {state:10} roundhouse {w['version']} (protocol {w['protocol']}) "
            f"{w['backend']:6} {w['busy']}/{w['capacity']} busy  {', '.join(w['queues'])}"
        )
        if w.get("problem"):
            typer.echo(f"  problem: {w['problem']}")


@workers_app.command("drain")
def drain(name: str, server: UrlOpt = None, token: TokenOpt = None) -> None:
    """Ask worker NAME to take no new jobs and to stop once its running jobs are done."""
    Client(server, token).post(f"/api/workers/{name}/drain")
    typer.echo(f"Asked worker {name} to drain")


@workers_app.command("token")
def token(server: UrlOpt = None, token: TokenOpt = None) -> None:
    """The token every worker needs in its `token` setting (administrators only)."""
    typer.echo(Client(server, token).get("/api/workers/token")["token"])


@app.command()
def queues(server: UrlOpt = None, token: TokenOpt = None, as_json: JsonOpt = False) -> None:
    """Queues: messages waiting, consumers, queued jobs, the workers serving each, and why
    jobs wait."""
    rows = Client(server, token).get("/api/queues")["queues"]
    if as_json:
        return echo_json(rows)
    for q in rows:
        served = ", ".join(q["workers"]) or "no worker"
        typer.echo(
            f"{q['name']:24} {q['depth']:5} waiting in the broker  {q['consumers']:3} consumers  "
            f"{q['queued_jobs']:5} jobs queued  served by {served}"
        )
        for entry in q["waiting"]:
            jobs = "1 job" if entry["jobs"] == 1 else f"{entry['jobs']} jobs"
            typer.echo(f"  {jobs} waiting: {entry['reason']}")
