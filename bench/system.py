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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

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

    def finished(self, build_id: int, timeout: float = 120, every: float = 0.01) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            build: dict[str, Any] = self.http.get(f"/api/build/{build_id}").json()
            return build if build["state"] in ("passed", "failed", "errored", "canceled") else None

        return dict(wait_until(done, timeout, f"build {build_id} to finish", every))

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")


@contextmanager
def running_platform(workers: int = 2, **settings: str) -> Iterator[Bench]:
    root = Path(tempfile.mkdtemp(prefix="roundhouse-bench-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDHOUSE_")}
    env.update({f"ROUNDHOUSE_{k.upper()}": v for k, v in settings.items()})
    env["ROUNDHOUSE_LOG_LEVEL"] = "warning"
    command = [str(ROUNDHOUSE), "up", "--data-dir", str(root / "data"), "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", str(workers)], cwd=root, env=env, stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        token_file = root / "data" / "admin-token"

        def ready() -> bool:
            try:
                return token_file.exists() and httpx.get(f"{url}/readyz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, 60, "the platform to start", every=0.05)
        headers = {"Authorization": f"token {token_file.read_text().strip()}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            yield Bench(root, url, http, process)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
