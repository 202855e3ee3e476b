"""`roundhouse doctor` and `roundhouse jobs stuck`: the checks of docs/operations.md, each
with what it saw and the fix; exit 1 on any FAIL.

On a platform machine the platform's settings are checked; on a worker machine (--worker, or
when /etc/default/roundhouse-worker exists and no roundhouse.toml does) the worker's.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from roundhouse.cli.common import ConfigOpt, JsonOpt, app, echo_json, fail

if TYPE_CHECKING:
    from roundhouse.ops.doctor.check import Check
    from roundhouse.ops.doctor.jobs import StuckJob
    from roundhouse.settings import Settings

jobs_app = typer.Typer(help="Jobs that need an operator.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


class Fix(StrEnum):
    requeue = "requeue"
    error = "error"


def worker_machine(config: Path | None) -> bool:
    """No --worker given: a worker machine has the worker's defaults file and no TOML."""
    from roundhouse.settings import WORKER_DEFAULTS_FILE, find_toml

    return config is None and find_toml(None) is None and WORKER_DEFAULTS_FILE.is_file()


def settings_source(config: Path | None, worker: bool) -> str:
    from roundhouse.settings import WORKER_DEFAULTS_FILE, find_toml

    found = find_toml(config)
    if found is not None:
        return str(found)
    if worker and WORKER_DEFAULTS_FILE.is_file():
        return str(WORKER_DEFAULTS_FILE)
    return "the ROUNDHOUSE_* environment and the defaults"


def report(checks: list[Check], as_json: bool, fixed: list[str] | None = None) -> None:
    """Print the checks (and what --fix did); exit 1 when any FAILed."""
    from roundhouse.ops.doctor import failed, render

    if as_json:
        body = {"ok": not failed(checks), "checks": [c.as_dict() for c in checks]}
        echo_json(body if fixed is None else {**body, "fixed": fixed})
    else:
        if fixed is not None:
            typer.echo("\n".join(fixed) or "No stuck job to fix.")
        typer.echo(render(checks))
    if failed(checks):
        raise typer.Exit(1)


@app.command()
def doctor(
    config: ConfigOpt = None,
    worker: Annotated[
        bool, typer.Option("--worker", help="Check this machine as a worker (build machine).")
    ] = False,
    fix: Annotated[
        Fix | None, typer.Option(help="Requeue or error the stuck jobs found (platform).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check this installation: every check prints ok, warn or FAIL, what it saw and the fix."""
    import asyncio

    from roundhouse import settings as settings_module
    from roundhouse.ops.doctor.check import fail as failing

    as_worker = worker or worker_machine(config)
    try:
        settings = settings_module.load(config, worker=as_worker)
    except settings_module.SettingsError as error:
        report(
            [failing("settings", str(error), "fix the setting named; see docs/operations.md")],
            as_json,
        )
        return
    if as_worker:
        from roundhouse.ops.doctor.worker_side import run_worker_checks

        checks = asyncio.run(run_worker_checks(settings, settings_source(config, True)))
    else:
        from roundhouse.ops.doctor.platform_side import run_platform_checks

        checks = asyncio.run(run_platform_checks(settings))
        if fix is not None:
            report(checks, as_json, asyncio.run(fix_stuck_jobs(settings, fix.value))[1])
            return
    report(checks, as_json)


async def fix_stuck_jobs(
    settings: Settings, action: str | None
) -> tuple[list[StuckJob], list[str]]:
    """The stuck jobs, and (with an action) what was done to each."""
    from roundhouse.ops.doctor.jobs import find_stuck
    from roundhouse.platform.services import Services
    from roundhouse.platform.stuck import fix_stuck

    services = Services.create(settings)
    try:
        stuck = await find_stuck(services.ctx.sessions, settings)
        if action is None or not stuck:
            return stuck, []
        await services.ctx.broker.connect()
        return stuck, await fix_stuck(
            services.hub, stuck, "error" if action == "error" else "requeue"
        )
    finally:
        await services.ctx.broker.close()
        engine = services.ctx.sessions.kw.get("bind")
        if engine is not None:
            await engine.dispose()


@jobs_app.command("stuck")
def stuck(
    config: ConfigOpt = None,
    requeue: Annotated[bool, typer.Option("--requeue", help="Run them again.")] = False,
    error: Annotated[bool, typer.Option("--error", help="End them as errored.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Jobs queued, received or started for longer than hard_timeout plus 5 minutes."""
    import asyncio

    from roundhouse import settings as settings_module
    from roundhouse.db.models import utcnow

    if requeue and error:
        fail("Give --requeue or --error, not both.")
    try:
        settings = settings_module.load(config)
    except settings_module.SettingsError as problem:
        fail(str(problem))
    action = "requeue" if requeue else "error" if error else None
    found, done = asyncio.run(fix_stuck_jobs(settings, action))
    if as_json:
        rows = [{**job.__dict__, "since": job.since.isoformat()} for job in found]
        typer.echo(json.dumps({"stuck": rows, "done": done}, indent=2))
        return
    now = utcnow()
    for job in found:
        typer.echo(job.describe(now))
    if not found:
        typer.echo("No job is stuck.")
    for line in done:
        typer.echo(line)
