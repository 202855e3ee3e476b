"""Per-job overhead of the backends: start, run `true`, tear down; no network, no checkout.

Run as root with `python -m bench.backends [--runs N]`; prints the median and spread per
backend. Backends this machine cannot run (bwrap without bubblewrap or cgroups) are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
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


async def one_job(backend: Backend, work_dir: Path, number: int) -> float:
    started = time.perf_counter()
    job = await backend.start(payload(number), work_dir)
    await job.output.read()
    code = await job.wait()
    await job.cleanup()
    elapsed = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"job {number} exited with {code}")
    return elapsed


async def measure(name: str, runs: int, root: Path) -> list[float] | None:
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
    with tempfile.TemporaryDirectory(prefix="roundhouse-bench-") as tmp:
        root = Path(tmp)
        root.chmod(0o711)  # the sandbox user must be able to reach the work directory
        for name in ("local", "bwrap"):
            times = await measure(name, runs, root)
            if times:
                ms = sorted(t * 1000 for t in times)
                print(
                    f"{name:6} median {statistics.median(ms):6.1f} ms   "
                    f"min {ms[0]:6.1f} ms   max {ms[-1]:6.1f} ms"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    asyncio.run(main(parser.parse_args().runs))
