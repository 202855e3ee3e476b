"""`roundhouse lint`, `matrix` and `encrypt`: a `.travis.yml` checked, expanded and given
secrets, without a platform (encrypt --repo asks the platform for the repository's key).

The engine is imported inside the commands: `roundhouse matrix` must start fast (bench/matrix.py).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import typer

from roundhouse.cli.common import JsonOpt, TokenOpt, UrlOpt, app, echo_json, fail
from roundhouse.cli.project import Project, location

if TYPE_CHECKING:
    from roundhouse.travisyml import MatrixJob, Message

FileArg = Annotated[
    Path | None, typer.Argument(help="The config file (default: .travis.yml).", show_default=False)
]
EVENT_TYPES = ("push", "pull_request", "api", "cron")
# Messages about the request, not the file: lint has no request to speak of.
REQUEST_CODES = frozenset({"skip_ci", "skip_branch", "skip_root", "skip_job", "skip_stage",
                           "skip_exclude", "skip_allow_failure", "skip_notification"})  # fmt: skip


def print_messages(project: Project, messages: list[Message]) -> None:
    for message in messages:
        typer.echo(f"{location(project, message.line)}: {message}")


@app.command()
def lint(file: FileArg = None, as_json: JsonOpt = False) -> None:
    """Check a .travis.yml and print its messages; exit 1 on any error."""
    project = Project(file)
    result = project.build({"type": "api"})
    messages = [m for m in result.messages if m.code not in REQUEST_CODES]
    errors = [m for m in messages if m.level == "error"]
    if as_json:
        echo_json({"valid": not errors, "messages": [m.to_json() for m in messages]})
    else:
        print_messages(project, messages)
        if not messages:
            typer.echo(f"{location(project, None)}: no problems found")
    raise typer.Exit(1 if errors else 0)


def request_data(
    event: str,
    branch: str | None,
    tag: str | None,
    repo: str | None,
    commit_message: str | None,
    sender: str | None,
    fork: bool,
    head_branch: str | None,
    head_repo: str | None,
    env: list[str],
) -> dict[str, Any]:
    """The request as build_matrix takes it; unset options stay out (conditions see nil)."""
    if event not in EVENT_TYPES:
        fail(f"--type {event!r}: expected one of {', '.join(EVENT_TYPES)}", 2)
    bad = [item for item in env if "=" not in item or not item.partition("=")[0]]
    if bad:
        fail(f"--env {bad[0]!r}: expected NAME=VALUE", 2)
    values = {
        "type": event, "branch": branch, "tag": tag, "repo": repo,
        "commit_message": commit_message, "sender": sender, "head_branch": head_branch,
        "head_repo": head_repo, "fork": fork if fork else None,
        "env": [{k: v} for k, _, v in (item.partition("=") for item in env)] or None,
    }  # fmt: skip
    return {key: value for key, value in values.items() if value is not None}


@app.command()
def matrix(
    file: FileArg = None,
    event: Annotated[
        str, typer.Option("--type", "--event", help="push, pull_request, api or cron.")
    ] = "push",
    branch: Annotated[str | None, typer.Option(help="Branch (the base branch of a PR).")] = None,
    tag: Annotated[str | None, typer.Option(help="Tag of a tag push.")] = None,
    repo: Annotated[str | None, typer.Option(help="Repository slug owner/name.")] = None,
    commit_message: Annotated[str | None, typer.Option(help="Commit message.")] = None,
    sender: Annotated[str | None, typer.Option(help="Login of who triggered it.")] = None,
    fork: Annotated[bool, typer.Option("--fork", help="The repository is a fork.")] = False,
    head_branch: Annotated[str | None, typer.Option(help="Head branch of a PR.")] = None,
    head_repo: Annotated[str | None, typer.Option(help="Head repository of a PR.")] = None,
    pull_request: Annotated[
        int | None, typer.Option(help="PR number; implies --type pull_request.")
    ] = None,
    env: Annotated[
        list[str] | None, typer.Option(help="Settings variable NAME=VALUE (repeatable).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the build a request would get; exit 1 when it would not build."""
    if pull_request is not None and event == "push":
        event = "pull_request"
    request = request_data(event, branch, tag, repo, commit_message, sender, fork,
                           head_branch, head_repo, env or [])  # fmt: skip
    project = Project(file, slug=repo)
    result = project.build(request)
    if as_json:
        echo_json(result.to_json())
    else:
        print_messages(project, result.messages)
        print_build(result.accepted, result.reason, result.stages, result.jobs)
    raise typer.Exit(0 if result.accepted else 1)


def print_build(
    accepted: bool, reason: str | None, stages: list[str], jobs: list[MatrixJob]
) -> None:
    if not accepted:
        typer.echo(f"Not built: {reason}")
        return
    stage_text = f" in stages {', '.join(stages)}" if stages else ""
    typer.echo(f"{len(jobs)} job{'s' if len(jobs) != 1 else ''}{stage_text}:")
    for job in jobs:
        typer.echo(f"  {job.number:>3}  {job_summary(job)}")


def job_summary(job: MatrixJob) -> str:
    """One line: stage, name, the keys that make this job differ, and its env."""
    from roundhouse.travisyml.keys import EXPAND_KEYS

    config = job.config
    parts = [f"[{job.stage}]"] if job.stage else []
    if job.name:
        parts.append(repr(job.name))
    shown = ("language", "os", "dist", "arch", *(k for k in EXPAND_KEYS if k not in ("os", "arch")))
    parts += [f"{key}: {config[key]}" for key in shown if config.get(key) is not None]
    env = [var if isinstance(var, str) else "[secure]" for var in config.get("env") or []]
    if env:
        parts.append("env: " + " ".join(env))
    if job.allow_failure:
        parts.append("(allowed to fail)")
    return "  ".join(parts)


@app.command()
def encrypt(
    values: Annotated[
        list[str] | None,
        typer.Argument(help="NAME=value pairs (or any string); read from stdin when none."),
    ] = None,
    repo: Annotated[
        str | None, typer.Option(help="Repository whose public key the platform serves.")
    ] = None,
    key: Annotated[
        Path | None, typer.Option(help="Public key file (PEM); no platform needed.")
    ] = None,
    server: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print `secure: "…"` for each value, encrypted with the repository's public key."""
    from roundhouse.travisyml.crypto import SecureError
    from roundhouse.travisyml.crypto import encrypt as encrypt_value

    if (repo is None) == (key is None):
        fail("give either --repo SLUG (key from the platform) or --key FILE", 2)
    texts = values or [sys.stdin.read().rstrip("\n")]
    if not all(texts):
        fail("nothing to encrypt: give a value such as NAME=value", 2)
    public_pem = read_key_file(key) if key is not None else fetch_repo_key(repo, server, token)
    try:
        encrypted = [encrypt_value(public_pem, text) for text in texts]
    except SecureError as error:
        fail(str(error))
    if as_json:
        echo_json([{"secure": value} for value in encrypted])
        return
    for value in encrypted:
        typer.echo(f'secure: "{value}"')


def read_key_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        fail(f"cannot read the key file {path}: {error.strerror or error}", 2)


def fetch_repo_key(repo: str | None, server: str | None, token: str | None) -> str:
    """The repository's public key from `GET /api/repo/{slug}/key` (PEM, or JSON with `key`)."""
    from roundhouse.client import Client

    answer = Client(server, token).get(f"/api/repo/{quote(str(repo), safe='')}/key")
    pem = answer.get("key") or answer.get("public_key") if isinstance(answer, dict) else answer
    if not isinstance(pem, str) or "BEGIN" not in pem:
        fail(f"the platform sent no public key for {repo}")
    return pem
