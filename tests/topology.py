"""A production installation for tests: `roundhouse platform` and `roundhouse worker` as
processes of their own (so they can be killed), on PostgreSQL (a schema of the test's own)
and RabbitMQ (a vhost of its own), with recovery timings of seconds instead of minutes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from roundhouse.platform.workertoken import worker_token
from roundhouse.settings import Settings
from roundhouse.worker.backends.local import sessions_under, signal_session
from tests.conftest import Api, free_port, wait_for

ROUNDHOUSE = Path(sys.executable).with_name("roundhouse")
# Heartbeats every half second; a job whose lease was not renewed for 3 s runs again.
FAST = {
    "heartbeat_interval": "0.5",
    "worker_lost_after": "3",
    "reconcile_interval": "0.5",
    "poll_interval": "3600",
}


@dataclass
class Daemon:
    """One roundhouse process; its output goes to <root>/<name>.log."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL: no goodbye of any kind."""
        self.signal(signal.SIGKILL)
        self.wait(10)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        if not self.running:
            return
        self.signal(signal.SIGTERM)
        try:
            self.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Platform(Daemon):
    port: int = 0
    data_dir: Path = Path()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Topology:
    root: Path
    database_url: str
    broker_url: str
    daemons: list[Daemon] = field(default_factory=list)
    # One instance key for every platform process, as in production: it encrypts the
    # secrets they share and gives the worker token.
    key: str = field(default_factory=lambda: Fernet.generate_key().decode())

    @property
    def worker_token(self) -> str:
        return worker_token(Settings(encryption_key=self.key))

    def _env(self, name: str, settings: dict[str, Any]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDHOUSE_")}
        values = {**FAST, "broker_url": self.broker_url, "name": name, **settings}
        env.update({f"ROUNDHOUSE_{k.upper()}": str(v) for k, v in values.items()})
        return env

    def platform(self, name: str = "platform-1", **settings: Any) -> Platform:
        data_dir, port = self.root / name, free_port()
        env = self._env(
            name,
            {
                "database_url": self.database_url,
                "data_dir": data_dir,
                "listen_port": port,
                "encryption_key": self.key,
                **settings,
            },
        )
        command = [str(ROUNDHOUSE), "platform"]
        daemon = Platform(name, command, env, self.root / f"{name}.log", port=port)
        daemon.data_dir = data_dir
        daemon.start()
        self.daemons.append(daemon)
        return daemon

    def worker(self, name: str, **settings: Any) -> Daemon:
        env = self._env(
            name,
            {"data_dir": self.root / name, "pool_size": 2, "token": self.worker_token, **settings},
        )
        daemon = Daemon(name, [str(ROUNDHOUSE), "worker"], env, self.root / f"{name}.log")
        daemon.start()
        self.daemons.append(daemon)
        return daemon

    @asynccontextmanager
    async def api(self, platform: Platform) -> AsyncIterator[Api]:
        """A client of platform, once it answers."""

        async def ready() -> bool:
            if not platform.running:
                pytest.fail(f"{platform.name} exited:\n{platform.log[-3000:]}")
            try:
                async with httpx.AsyncClient() as probe:
                    answer = await probe.get(f"{platform.url}/readyz")
            except httpx.HTTPError:
                return False
            return answer.status_code == 200 and (platform.data_dir / "admin-token").exists()

        await wait_for(ready, 60, f"{platform.name} to answer")
        token = (platform.data_dir / "admin-token").read_text().strip()
        headers = {"Authorization": f"token {token}"}
        async with httpx.AsyncClient(base_url=platform.url, headers=headers, timeout=30) as http:
            yield Api(http)

    def stop_all(self) -> None:
        for daemon in reversed(self.daemons):
            daemon.stop()
        # Jobs of a worker a test killed run on: nothing but this finds them.
        for sid in sessions_under(self.root):
            signal_session(sid, signal.SIGKILL)

    def logs(self) -> str:
        return "\n".join(f"==== {d.name}\n{d.log[-4000:]}" for d in self.daemons)


async def workers_alive(api: Api, *names: str) -> bool:
    answer = (await api.http.get("/api/workers")).json()
    alive = {w["name"] for w in answer["workers"] if w["alive"]}
    return alive.issuperset(names)


async def job_of(api: Api, slug: str, request_id: int) -> dict[str, Any]:
    """The first job of the build a request made."""
    build_id = await api.build_of(slug, request_id, timeout=60)
    build = await api.build(build_id)
    job: dict[str, Any] = await api.job(build["jobs"][0]["id"])
    return job
