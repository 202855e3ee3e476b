"""The script compiler's figures: compile time per job, and the script's own overhead before
the first user command (no clone). Run with `python -m bench.script`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from roundhouse.script import compile_script, local_payload

JOBS = 30


def compile_ms_per_job() -> float:
    config = {"language": "python", "python": "3.11", "env": ["A=1 B=2"], "script": ["pytest"] * 5}
    payloads = [
        local_payload(config, clone_url="/nonexistent", job_index=index) for index in range(JOBS)
    ]
    rounds = []
    for _ in range(20):
        started = time.perf_counter()
        for payload in payloads:
            compile_script(payload)
        rounds.append((time.perf_counter() - started) / JOBS)
    return statistics.median(rounds) * 1000


def overhead_ms() -> float:
    """`script: true` without a clone, from bash's start to its exit."""
    payload = local_payload(
        {"language": "shell", "git": {"clone": False}, "script": ["true"]}, clone_url="/nonexistent"
    )
    with tempfile.TemporaryDirectory() as root:
        script = Path(root) / "job.sh"
        script.write_text(compile_script(payload))
        build = Path(root) / "build"
        build.mkdir()
        env = {**os.environ, "HOME": root, "TRAVIS_BUILD_DIR": str(build)}
        runs = []
        for _ in range(20):
            started = time.perf_counter()
            subprocess.run(
                ["bash", str(script)], env=env, cwd=root, stdout=subprocess.DEVNULL, check=True
            )
            runs.append(time.perf_counter() - started)
        bare = []
        for _ in range(20):
            started = time.perf_counter()
            subprocess.run(["bash", "-c", "true"], check=True)
            bare.append(time.perf_counter() - started)
    return (statistics.median(runs) - statistics.median(bare)) * 1000


def main() -> None:
    print(f"compile, {JOBS}-job build: {compile_ms_per_job():.2f} ms per job (target < 5 ms)")
    print(f"script overhead before the first command: {overhead_ms():.1f} ms (target < 50 ms)")


if __name__ == "__main__":
    main()
