"""Services that the machine lacks, and the script's own overhead.

The overhead bound is the brief's: under 30 ms for `script: true` beyond the clone.
"""

from __future__ import annotations

import statistics
import subprocess
import time

from script_support import Sandbox, payload

from roundhouse.script import compile_script


def test_missing_service_is_reported_and_the_job_goes_on(sandbox: Sandbox) -> None:
    run = sandbox.run(
        payload({"git": {"clone": False}, "services": ["no-such-db"], "script": ["true"]})
    )
    assert "The service no-such-db is not available on this machine." in run.lines
    assert "travis_fold:start:services\r\x1b[0K" in run.raw
    assert run.code == 0


def test_overhead_of_a_trivial_job(sandbox: Sandbox) -> None:
    script = sandbox.root / "job.sh"
    script.write_text(compile_script(payload({"git": {"clone": False}, "script": ["true"]})))
    env = {**sandbox.env, "TRAVIS_BUILD_DIR": str(sandbox.build_dir)}
    durations = []
    for _ in range(7):
        started = time.perf_counter()
        subprocess.run(
            ["bash", str(script)], env=env, cwd=sandbox.root, stdout=subprocess.DEVNULL, check=True
        )
        durations.append(time.perf_counter() - started)
    assert statistics.median(durations) < 0.030


def test_compile_is_fast() -> None:
    job = payload(
        {"language": "python", "python": "3.11", "env": ["A=1 B=2"], "script": ["pytest"] * 5}
    )
    started = time.perf_counter()
    for _ in range(30):
        compile_script(job)
    assert (time.perf_counter() - started) / 30 < 0.005
