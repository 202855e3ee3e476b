"""Per-job overhead of the backends: start, run `true`, tear down; no network, no checkout.

Run as root with `python -m bench.backends [--runs N]`; prints per backend the median wall
time with its spread, and the median CPU time (worker plus every process of the job), which
other load on the machine does not inflate. Backends this machine cannot run (bwrap without
bubblewrap or cgroups) are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

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


async def measure(name: str, runs: int, root: Path) -> list[tuple[float, float]] | None:
    work_dir = root / name
    work_dir.mkdir(mode=0o711)
    try:
        backend = make_backend(Settings(backend=name, data_dir=root, images={"host": "host"}))
    except SettingsError as error:
        print(f"{name:6} skipped: {error}")
        return None
    await one_job(backend, work_dir, 0)  # warm-up: first exec of each binary
    return [await one_job(backend, work_dir, number) for number in range(1, runs + 1)]


async def main(runs: int) -> None:
    print(f"per-job overhead, `true`, median of {runs} (after one warm-up run)")
    print(f"load average before: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="roundhouse-bench-") as tmp:
        root = Path(tmp)
        root.chmod(0o711)  # the sandbox user must be able to reach the work directory
        for name in ("local", "bwrap"):
            results = await measure(name, runs, root)
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
    asyncio.run(main(parser.parse_args().runs))
