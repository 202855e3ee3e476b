"""A `roundhouse up` in a subprocess, driven from outside through its HTTP API, for benchmarks.

Everything lives in a temporary directory that is removed afterwards, with the process.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from roundhouse.platform.workertoken import worker_token
from roundhouse.settings import Settings

ROUNDHOUSE = Path(sys.executable).with_name("roundhouse")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.01) -> Any:
    """Poll check() until it returns something truthy; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass
class Bench:
    """A running platform plus the place to make repositories."""

    root: Path
    url: str
    http: httpx.Client
    process: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def repo(self, name: str, travis_yml: str) -> str:
        """A git repository with one commit holding .travis.yml, added to the platform."""
        path = self.root / "repos" / "bench" / name
        path.mkdir(parents=True)
        git(path, "init", "-q", "-b", "main")
        (path / ".travis.yml").write_text(travis_yml)
        git(path, "add", ".")
        git(path, "-c", "user.name=bench", "-c", "user.email=b@example.com", "commit", "-qm", "c")
        answer = self.http.post("/api/repos", json={"url": path.as_uri()})
        answer.raise_for_status()
        return str(answer.json()["slug"])

    def trigger(self, slug: str) -> int:
        answer = self.http.post(f"/api/repo/{slug}/requests", json={"request": {"branch": "main"}})
        answer.raise_for_status()
        return int(answer.json()["request"]["id"])

    def build_of(self, slug: str, request_id: int) -> int:
        def built() -> int | None:
            for request in self.http.get(f"/api/repo/{slug}/requests").json()["requests"]:
                if request["id"] == request_id and request["build_id"] is not None:
                    return int(request["build_id"])
            return None

        return int(wait_until(built, 30, f"request {request_id} to make a build"))

    def finished(self, build_id: int, timeout: float = 120, every: float = 0.002) -> dict[str, Any]:
        """The build once finished, asking every `every` seconds (asking often loads the
        platform that is being measured: slower for long waits)."""

        def done() -> dict[str, Any] | None:
            build: dict[str, Any] = self.http.get(f"/api/build/{build_id}").json()
            return build if build["state"] in ("passed", "failed", "errored", "canceled") else None

        return dict(wait_until(done, timeout, f"build {build_id} to finish", every))

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU time (user + system) of the platform process itself, and of its finished
        children (the jobs' bash and everything it waited for, git included)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        # After ") ": state is field 0, so utime, stime, cutime, cstime are 11 to 14.
        own, children = (int(fields[11]) + int(fields[12])), (int(fields[13]) + int(fields[14]))
        return own / ticks, children / ticks

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")


def environment(**settings: object) -> dict[str, str]:
    """This process's environment without ROUNDHOUSE_* variables, plus settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDHOUSE_")}
    env.update({f"ROUNDHOUSE_{k.upper()}": str(v) for k, v in settings.items()})
    env["ROUNDHOUSE_LOG_LEVEL"] = "warning"
    return env


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serving(root: Path, process: subprocess.Popen[bytes], port: int) -> Iterator[Bench]:
    """A Bench for the platform process listening on port, once it is ready."""
    url = f"http://127.0.0.1:{port}"
    token_file = root / "data" / "admin-token"

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"the platform exited with status {process.returncode}")
        try:
            return token_file.exists() and httpx.get(f"{url}/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, 120, "the platform to start", every=0.05)
    headers = {"Authorization": f"token {token_file.read_text().strip()}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        yield Bench(root, url, http, process)


@contextmanager
def running_platform(workers: int = 2, **settings: str) -> Iterator[Bench]:
    """`roundhouse up`: SQLite, in-process broker, a local worker with `workers` slots."""
    root = Path(tempfile.mkdtemp(prefix="roundhouse-bench-"))
    port = free_port()
    command = [str(ROUNDHOUSE), "up", "--data-dir", str(root / "data"), "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", str(workers)],
        cwd=root,
        env=environment(**settings),
        stdout=subprocess.DEVNULL,
    )
    try:
        with serving(root, process, port) as bench:
            yield bench
    finally:
        stop(process)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A database URL whose tables go to a new schema, dropped afterwards."""
    import sqlalchemy

    base = os.environ.get(
        "ROUNDHOUSE_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    schema = f"rh_bench_{uuid.uuid4().hex[:8]}"
    engine = sqlalchemy.create_engine(base)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """A broker URL on a new RabbitMQ vhost (the guest user may use it), deleted afterwards."""
    server = os.environ.get("ROUNDHOUSE_BENCH_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672")
    vhost = f"rh-bench-{uuid.uuid4().hex[:8]}"

    def ctl(*args: str) -> None:
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True)

    ctl("add_vhost", vhost)
    try:
        ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"{server}/{vhost}"
    finally:
        ctl("delete_vhost", vhost)


@contextmanager
def running_topology(workers: int = 2, slots: int = 4, **settings: str) -> Iterator[Bench]:
    """`roundhouse platform` on PostgreSQL and RabbitMQ, and `workers` × `roundhouse worker`
    with `slots` each; the Bench's process is the platform's."""
    root = Path(tempfile.mkdtemp(prefix="roundhouse-bench-"))
    port = free_port()
    processes: list[subprocess.Popen[bytes]] = []
    # The platform's instance key, given to it; the workers get the worker token it gives.
    key = Fernet.generate_key().decode()
    token = worker_token(Settings(encryption_key=key))
    with postgres_schema() as database, rabbitmq_vhost() as broker:
        common = {"broker_url": broker, "poll_interval": 3600, **settings}
        try:
            platform = subprocess.Popen(
                [str(ROUNDHOUSE), "platform"],
                cwd=root,
                env=environment(
                    database_url=database,
                    data_dir=root / "data",
                    listen_port=port,
                    encryption_key=key,
                    **common,
                ),
                stdout=subprocess.DEVNULL,
            )
            processes.append(platform)
            for number in range(workers):
                name = f"bench-worker-{number + 1}"
                env = environment(
                    name=name, data_dir=root / name, pool_size=slots, token=token, **common
                )
                processes.append(subprocess.Popen([str(ROUNDHOUSE), "worker"], cwd=root, env=env))
            with serving(root, platform, port) as bench:

                def workers_ready() -> bool:
                    found = bench.http.get("/api/workers").json()["workers"]
                    return sum(1 for w in found if w["alive"]) == workers

                wait_until(workers_ready, 120, "the workers to beat", every=0.1)
                bench.workers = processes[1:]
                yield bench
        finally:
            for process in reversed(processes):
                stop(process)
            shutil.rmtree(root, ignore_errors=True)
