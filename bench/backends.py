"""Per-job overhead of the backends: start, run `true`, tear down; no network, no checkout.

Run as root with `python -m bench.backends [--runs N] [--docker-url URL]`; prints per backend
the median wall time with its spread, and the median CPU time (worker plus every process of
the job), which other load on the machine does not inflate. Backends this machine cannot run
(bwrap without bubblewrap or cgroups, docker without podman) are skipped.

The docker backend talks to --docker-url with the image --docker-image; without them, to a
podman service started for the run with the test suite's small image. Its CPU time is the
worker's share only: the engine's processes are not the worker's children.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from roundhouse.protocol import JobPayload
from roundhouse.settings import Settings, SettingsError
from roundhouse.worker.backends import Backend, make_backend


def payload(number: int) -> JobPayload:
    return {
        "v": 1,
        "lease": f"{number:08d}",
        "queue": "builds.default",
        "job": {
            "id": number,
            "number": f"1.{number}",
            "attempt": 1,
            "allow_failure": False,
            "stage_name": None,
            "name": None,
            "queued_at": None,
        },
        "build": {"id": 1, "number": 1, "event_type": "push"},
        "repository": {"id": 1, "slug": "bench/true", "clone_url": "", "private": False},
        "commit": {
            "sha": "",
            "branch": "main",
            "ref": None,
            "tag": None,
            "message": "",
            "range": None,
            "pull_request": None,
        },
        "config": {"dist": "host"},
        "env_vars": [],
        "secrets": [],
        "script": "true\n",
        "timeouts": {"hard_limit": 60, "log_silence": 60},
        "max_log_bytes": 1024 * 1024,
        "web_url": "",
        "network": False,
    }


def cpu_seconds() -> float:
    """CPU time of this process and its finished children: the cost, whatever the load."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


async def one_job(backend: Backend, work_dir: Path, number: int) -> tuple[float, float]:
    """Wall time and CPU time of one job, from start to the end of its cleanup."""
    started, cpu = time.perf_counter(), cpu_seconds()
    job = await backend.start(payload(number), work_dir)
    await job.output.read()
    code = await job.wait()
    await job.cleanup()
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    if code != 0:
        raise RuntimeError(f"job {number} exited with {code}")
    return elapsed, cpu


@contextlib.contextmanager
def docker_settings(url: str | None, image: str | None) -> Iterator[dict[str, Any] | None]:
    """Settings of the docker backend: the given server, or a podman service of the tests."""
    if url and image:
        yield {"docker_url": url, "images": {"host": image}}
        return
    from tests.integration.backends import podman

    unavailable = podman.podman_unavailable()
    if unavailable:
        print(f"docker skipped: {unavailable}")
        yield None
        return
    with podman.podman_service() as service_url:
        yield {"docker_url": service_url, "images": {"host": podman.build_test_image()}}


async def measure(
    name: str, runs: int, root: Path, overrides: dict[str, Any]
) -> list[tuple[float, float]] | None:
    work_dir = root / name
    work_dir.mkdir(mode=0o711)
    values: dict[str, Any] = {"backend": name, "data_dir": root, "images": {"host": "host"}}
    try:
        backend = make_backend(Settings(**{**values, **overrides}))
    except SettingsError as error:
        print(f"{name:6} skipped: {error}")
        return None
    await one_job(backend, work_dir, 0)  # warm-up: first exec of each binary
    return [await one_job(backend, work_dir, number) for number in range(1, runs + 1)]


async def main(runs: int, docker_url: str | None, docker_image: str | None) -> None:
    print(f"per-job overhead, `true`, median of {runs} (after one warm-up run)")
    print(f"load average before: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    with (
        tempfile.TemporaryDirectory(prefix="roundhouse-bench-") as tmp,
        docker_settings(docker_url, docker_image) as docker,
    ):
        root = Path(tmp)
        root.chmod(0o711)  # the sandbox user must be able to reach the work directory
        backends = {"local": {}, "bwrap": {}, **({"docker": docker} if docker else {})}
        for name, overrides in backends.items():
            results = await measure(name, runs, root, overrides)
            if results:
                wall = sorted(elapsed * 1000 for elapsed, _ in results)
                cpu = statistics.median(used * 1000 for _, used in results)
                print(
                    f"{name:6} wall median {statistics.median(wall):6.1f} ms "
                    f"(min {wall[0]:5.1f}, max {wall[-1]:5.1f})   cpu median {cpu:5.1f} ms"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--docker-url", help="a Docker API, e.g. unix:///var/run/docker.sock")
    parser.add_argument("--docker-image", help="an image with bash in that server")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.runs, arguments.docker_url, arguments.docker_image))
