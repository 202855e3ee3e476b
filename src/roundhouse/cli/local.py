"""`roundhouse compile` and `roundhouse run-local`: jobs of a `.travis.yml` as bash scripts,
and run on this machine with the worker's own runner and a backend of its (a plain process by
default, or a bwrap sandbox or a container with the worker's settings), no platform needed.

Like a push, a local build checks out the last commit of the repository (`git clone` of the
folder): uncommitted changes are not part of it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from roundhouse.cli.common import ConfigOpt, app, fail
from roundhouse.cli.project import Project, location
from roundhouse.cli.yml import FileArg, job_summary

if TYPE_CHECKING:
    from roundhouse.protocol import JobPayload
    from roundhouse.travisyml import MatrixJob, MatrixResult
    from roundhouse.worker.backends import Backend

# Exit status of run-local by build state (the same as `roundhouse trigger --wait`).
STATE_EXIT = {"passed": 0, "failed": 1, "errored": 2, "canceled": 3}
BACKENDS = ("local", "bwrap", "docker")

JobOpt = Annotated[int | None, typer.Option("--job", help="Job number (default: all).")]
BranchOpt = Annotated[
    str | None, typer.Option(help="Branch the build is for (default: the checked-out one).")
]
KeyOpt = Annotated[
    Path | None,
    typer.Option("--key", help="The repository's private key (PEM), to decrypt secure values."),
]


class LocalBuild:
    """The matrix of the checked-out commit and the payloads of its jobs."""

    def __init__(self, file: Path | None, branch: str | None, key: Path | None) -> None:
        from roundhouse.travisyml.messages import Messages
        from roundhouse.travisyml.secure import SecureValues

        self.project = Project(file)
        head = self.project.head
        self.branch = branch or head["branch"] or "main"
        self.result: MatrixResult = self.project.build({"type": "push", "branch": self.branch})
        self.report(self.result.messages, levels=("error", "warn", "alert"))
        if not self.result.accepted:
            fail(f"this build would not run: {self.result.reason}")
        self.msgs = Messages()
        pem = read_private_key(key) if key is not None else None
        try:
            self.secure = SecureValues(pem)
        except ValueError as error:  # SecureError: the key file is not a private key
            fail(f"--key {key}: {error}", 2)
        self.secure_in_use = False
        self.clone_url = str(self.project.root)

    def job(self, number: int) -> MatrixJob:
        jobs = self.result.jobs
        if not 1 <= number <= len(jobs):
            fail(f"--job {number}: the build has jobs 1 to {len(jobs)}", 2)
        return jobs[number - 1]

    def payload(self, job: MatrixJob) -> JobPayload:
        """The job's payload with its script, secure values decrypted (or dropped)."""
        from roundhouse.script import compile_script, local_payload

        before = len(self.msgs.items)
        config = self.secure.apply(job.config, self.msgs)
        self.report(self.msgs.items[before:], levels=("warn", "error"))
        head = self.project.head
        payload = local_payload(
            config, clone_url=self.clone_url, slug=f"local/{self.project.root.name}",
            sha=head["sha"], branch=self.branch, message=head["message"],
            job_index=job.number, secrets=self.secure.values,
        )  # fmt: skip
        payload["job"].update(
            {"name": job.name, "stage_name": job.stage, "allow_failure": job.allow_failure}
        )
        payload["script"] = compile_script(payload)
        return payload

    def report(self, messages: list[Any], levels: tuple[str, ...]) -> None:
        """Problems go to stderr: stdout carries the script or the logs."""
        for message in messages:
            if message.level in levels:
                typer.echo(f"{location(self.project, message.line)}: {message}", err=True)


def read_private_key(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        fail(f"cannot read the key file {path}: {error.strerror or error}", 2)


@app.command("compile")
def compile_job(
    file: FileArg = None,
    job: Annotated[int, typer.Option("--job", help="Job number.")] = 1,
    branch: BranchOpt = None,
    key: KeyOpt = None,
) -> None:
    """Print the bash script of one job."""
    build = LocalBuild(file, branch, key)
    typer.echo(build.payload(build.job(job))["script"], nl=False)


@app.command("run-local")
def run_local(
    file: FileArg = None,
    job: JobOpt = None,
    branch: BranchOpt = None,
    key: KeyOpt = None,
    backend: Annotated[
        str, typer.Option(help="Where jobs run: local, bwrap or docker (as root).")
    ] = "local",
    image: Annotated[
        str | None,
        typer.Option(help="bwrap/docker: run every job in this image, whatever its dist."),
    ] = None,
    network: Annotated[
        bool | None, typer.Option("--network/--no-network", help="bwrap/docker: network access.")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Run the build's jobs here in stage order and print their logs; exit 0 if it passed."""
    if backend not in BACKENDS:
        fail(f"--backend {backend!r}: run-local supports {', '.join(BACKENDS)}", 2)
    build = LocalBuild(file, branch, key)
    if build.project.head["sha"] == "":
        fail("run-local builds the last commit of a git repository; commit the project first", 2)
    jobs = [build.job(job)] if job is not None else build.result.jobs
    if backend != "local":
        # A sandbox clones through the worker's mirror, which git's insteadOf finds by URL.
        build.clone_url = build.project.root.as_uri()
    # Imported here, not at the top: they cost the fast commands (matrix, lint) ~50 ms.
    import asyncio
    import tempfile

    with tempfile.TemporaryDirectory(prefix="roundhouse-local-") as work_dir:
        # A sandbox's unprivileged user walks through to its job's directory.
        Path(work_dir).chmod(0o711)
        runner_backend = local_backend(backend, jobs, image, network, config, Path(work_dir))
        state = asyncio.run(run_jobs(build, jobs, runner_backend, Path(work_dir)))
    raise typer.Exit(STATE_EXIT.get(state, 2))


def local_backend(
    name: str,
    jobs: list[MatrixJob],
    image: str | None,
    network: bool | None,
    config: Path | None,
    work_dir: Path,
) -> Backend:
    """The backend jobs run with: a sandboxed one takes the worker's settings (--config)."""
    from roundhouse import settings as settings_module
    from roundhouse.settings import SettingsError
    from roundhouse.worker.backends import LocalBackend, images, make_backend

    if name == "local":
        return LocalBackend()
    try:
        settings = settings_module.load(
            config, worker=True, backend=name, work_dir=work_dir, sandbox_network=network
        )
        if image is not None:
            dists = {images.image_name(job.config, settings.default_dist) for job in jobs}
            settings.images = {**settings.images, **dict.fromkeys(dists, image)}
        return make_backend(settings)
    except SettingsError as error:
        fail(str(error))


async def run_jobs(
    build: LocalBuild, jobs: list[MatrixJob], backend: Backend, work_dir: Path
) -> str:
    """Run jobs one at a time in stage order, following the hub's build result rules."""
    from roundhouse.travisyml import JobState, build_result

    states = ["created"] * len(jobs)
    fast_finish = build.result.fast_finish

    def snapshot() -> list[JobState]:
        return [JobState(s, j.allow_failure, j.stage) for s, j in zip(states, jobs, strict=True)]

    outcome = build_result(snapshot(), fast_finish=fast_finish, stages=build.result.stages)
    while not outcome.finished:
        for index in outcome.startable:
            states[index] = await run_job(build, jobs[index], backend, work_dir)
        outcome = build_result(snapshot(), fast_finish=fast_finish, stages=build.result.stages)
    for index in outcome.cancel:
        states[index] = "canceled"
    typer.echo("")
    for job, state in zip(jobs, states, strict=True):
        allowed = " (allowed to fail)" if job.allow_failure else ""
        typer.echo(f"Job {job.number}{f' [{job.stage}]' if job.stage else ''}: {state}{allowed}")
    typer.echo(f"Build {outcome.state}")
    return outcome.state


async def run_job(build: LocalBuild, job: MatrixJob, backend: Backend, work_dir: Path) -> str:
    """One job with the worker's runner: its log, masked, is printed as it comes."""
    import asyncio

    from roundhouse.broker.base import Delivery
    from roundhouse.broker.memory import MemoryBroker
    from roundhouse.protocol import LOG_QUEUE
    from roundhouse.worker.runner import JobControl, Runner

    payload = build.payload(job)
    broker = MemoryBroker()
    printed = asyncio.Event()

    async def show(delivery: Delivery) -> None:
        sys.stdout.write(delivery.body["content"])
        sys.stdout.flush()
        if delivery.body["final"]:
            printed.set()
        await delivery.ack()

    # Prefetch 1: parts are printed strictly in order.
    await broker.consume(LOG_QUEUE, show, prefetch=1)
    typer.echo(f"=== Job {job.number} {job_summary(job)}")
    state = await Runner(broker, backend, "run-local", work_dir).run(payload, JobControl())
    await printed.wait()
    await broker.close()
    return state
