"""Builds from the command line: trigger (and wait), list, logs, cancel, restart."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from roundhouse.cli.common import JsonOpt, TokenOpt, UrlOpt, app, echo_json, fail
from roundhouse.client import Client

FINISHED = {"passed", "failed", "errored", "canceled"}
STATE_EXIT = {"passed": 0, "failed": 1, "errored": 2, "canceled": 3}


def wait_for_build(client: Client, slug: str, request_id: int, timeout: float) -> str:
    """Follow a request to its build and the build to its end; print each job's outcome."""
    deadline = time.monotonic() + timeout
    build_id = None
    while build_id is None:
        requests = client.get(f"/api/repo/{slug}/requests")["requests"]
        request = next((r for r in requests if r["id"] == request_id), None)
        if request and request["state"] == "finished":
            if request["build_id"] is None or request["result"] != "accepted":
                typer.echo(f"Request {request_id} did not build: {request['reason']}")
                for message in request.get("messages") or []:
                    typer.echo(f"  {message['text']}")
                return "errored"
            build_id = request["build_id"]
        elif time.monotonic() > deadline:
            fail("timed out waiting for the request to be processed")
        else:
            time.sleep(0.1)
    build = client.get(f"/api/build/{build_id}")
    typer.echo(f"Build #{build['number']}: {build['web_url']}")
    reported: set[int] = set()
    while True:
        build = client.get(f"/api/build/{build_id}")
        for job in build["jobs"]:
            if job["state"] in FINISHED and job["id"] not in reported:
                reported.add(job["id"])
                duration = f" in {job['duration']:.1f} s" if job["duration"] is not None else ""
                typer.echo(f"  job {job['number']:8} {job['state']}{duration}  {job['web_url']}")
        if build["state"] in FINISHED:
            typer.echo(f"Build #{build['number']} {build['state']}")
            return str(build["state"])
        if time.monotonic() > deadline:
            fail(f"timed out waiting for build #{build['number']}")
        time.sleep(0.2)


@app.command()
def trigger(
    slug: str,
    branch: Annotated[
        str | None, typer.Option(help="Branch to build (default: main or master).")
    ] = None,
    commit: Annotated[str | None, typer.Option(help="Commit sha.")] = None,
    message: Annotated[str | None, typer.Option(help="Build message.")] = None,
    config_file: Annotated[
        Path | None, typer.Option(help="Use this file instead of .travis.yml.")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait and exit 0 only if the build passed.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits at most.")] = 3600,
    server: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Start a build of a branch or commit."""
    client = Client(server, token)
    if branch is None and commit is None:
        heads = client.get(f"/api/repo/{slug}")
        branch = heads.get("default_branch") or "main"
    request: dict[str, Any] = {"branch": branch, "sha": commit, "message": message}
    if config_file is not None:
        request["config"] = config_file.read_text()
        request["merge_mode"] = "replace"
    answer = client.post(f"/api/repo/{slug}/requests", {"request": request})
    request_id = answer["request"]["id"]
    typer.echo(f"Request {request_id} created for {slug} {branch or commit}")
    if wait:
        state = wait_for_build(client, slug, request_id, timeout)
        raise typer.Exit(STATE_EXIT.get(state, 2))


@app.command()
def builds(
    slug: str, server: UrlOpt = None, token: TokenOpt = None, as_json: JsonOpt = False
) -> None:
    """A repository's recent builds."""
    rows = Client(server, token).get(f"/api/repo/{slug}/builds")["builds"]
    if as_json:
        return echo_json(rows)
    for b in rows:
        typer.echo(
            f"#{b['number']:<6} {b['state']:9} {b['branch'] or b['tag'] or '':20} "
            f"{b['commit']['sha'][:7]}  {b['web_url']}"
        )


@app.command()
def logs(
    job_id: int,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Stream until the job ends.")
    ] = False,
    server: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Print a job's log."""
    client = Client(server, token)
    if not follow:
        # typer.echo would strip the colours and markers when stdout is not a terminal.
        sys.stdout.write(client.get(f"/api/job/{job_id}/log.txt"))
        return
    for event, data in client.stream_lines(f"/api/job/{job_id}/log/stream"):
        if event == "log":
            sys.stdout.write(json.loads(data)["content"])
            sys.stdout.flush()
        elif event == "end":
            return


@app.command()
def cancel(kind: str, id: int, server: UrlOpt = None, token: TokenOpt = None) -> None:
    """Cancel a build or a job: `roundhouse cancel build 12`."""
    _steer(kind, id, "cancel", server, token)


@app.command()
def restart(kind: str, id: int, server: UrlOpt = None, token: TokenOpt = None) -> None:
    """Restart a build or a job: `roundhouse restart job 34`."""
    _steer(kind, id, "restart", server, token)


def _steer(kind: str, id: int, action: str, server: str | None, token: str | None) -> None:
    if kind not in ("build", "job"):
        fail(f"say `build` or `job`, not {kind!r}")
    Client(server, token).post(f"/api/{kind}/{id}/{action}")
    typer.echo(f"{action.capitalize()} requested for {kind} {id}")
