"""How fast a 50-job `.travis.yml` (imports, stages, conditions) becomes its build matrix:
`build_matrix` in-process, and the whole `roundhouse matrix` process as a user runs it.

Run with `python -m bench.matrix [--runs N]`; targets: in-process median < 20 ms, the CLI
process median < 300 ms. Two reference processes (bare Python, Python importing typer) are
measured alongside, so a number taken on a busy machine can be judged. The first CLI run
writes Python's bytecode cache (as any install does; PYTHONDONTWRITEBYTECODE would otherwise
make every run compile the whole package again) and is not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from roundhouse.travisyml import build_matrix

IN_PROCESS_TARGET_MS = 20
CLI_TARGET_MS = 300
JOBS = 50

# 5 Pythons x 4 env rows x 2 architectures = 40 jobs, plus 10 included ones in later stages.
TRAVIS_YML = """\
version: "~> 1.0"
import:
  - source: ./ci/versions.yml
  - source: ./ci/notify.yml
    if: branch = main
language: python
os: linux
dist: jammy
arch: [amd64, arm64]
env:
  global:
    - PIP_DISABLE_PIP_VERSION_CHECK=1
  jobs:
    - DB=postgres
    - DB=mysql
    - DB=sqlite
    - DB=none FAST=1
stages:
  - test
  - name: integration
    if: type IN (push, api, cron)
  - name: deploy
    if: branch = main AND NOT commit_message =~ /skip deploy/
jobs:
  fast_finish: true
  exclude:
    - python: "3.9"
      env: DB=none FAST=1
      if: branch =~ ^release/
  allow_failures:
    - python: "3.13"
      if: type = cron
  include:
    - {stage: test, name: lint, python: "3.12", script: make lint}
    - {stage: test, name: docs, python: "3.12", script: make docs}
    - {stage: integration, name: "integration postgres", env: DB=postgres, script: make it}
    - {stage: integration, name: "integration mysql", env: DB=mysql, script: make it}
    - {stage: integration, name: "integration redis", services: [redis], script: make it}
    - {stage: integration, name: "integration s3", if: env(AWS) != false, script: make it}
    - {stage: deploy, name: wheels, script: make wheels}
    - {stage: deploy, name: sdist, script: make sdist}
    - {stage: deploy, name: docs site, script: make site}
    - stage: deploy
      name: release
      script: skip
      deploy:
        provider: script
        script: ./release.sh
        on: {branch: main}
script: make test
"""
IMPORTS = {
    "ci/versions.yml": 'python: ["3.9", "3.10", "3.11", "3.12", "3.13"]\ncache: pip\n',
    "ci/notify.yml": "notifications:\n  email:\n    on_success: change\n",
}
REQUEST = {"type": "push", "branch": "main", "commit_message": "Speed up the matrix"}


def import_fn(source: str, parent: str | None) -> str | None:
    return IMPORTS.get(source.removeprefix("./"))


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def in_process(runs: int) -> float:
    result = build_matrix(TRAVIS_YML, REQUEST, import_fn=import_fn)
    assert result.accepted and len(result.jobs) == JOBS, (result.reason, len(result.jobs))
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        build_matrix(TRAVIS_YML, REQUEST, import_fn=import_fn)
        samples.append(time.perf_counter() - started)
    return median_ms(samples)


def process_ms(command: list[str], runs: int, cwd: Path | None = None) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of the process, in ms.

    CPU time is what the process itself costs; on a busy machine wall time adds the waiting.
    """
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, capture_output=True, check=True)
        wall.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return median_ms(wall), median_ms(cpu)


def cli_process(runs: int) -> tuple[float, float]:
    """`roundhouse matrix --json` on the same files, measured from start to exit."""
    roundhouse = Path(sys.executable).parent / "roundhouse"
    with tempfile.TemporaryDirectory(prefix="bench-matrix-") as folder:
        root = Path(folder)
        (root / ".travis.yml").write_text(TRAVIS_YML)
        for name, text in IMPORTS.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        command = [str(roundhouse), "matrix", "--json", "--branch", "main",
                   "--commit-message", REQUEST["commit_message"]]  # fmt: skip
        warm = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        first = subprocess.run(
            command, cwd=root, env=warm, capture_output=True, text=True, check=True
        )
        assert len(json.loads(first.stdout)["jobs"]) == JOBS
        return process_ms(command, runs, root)


def verdict(value: float, target: float) -> str:
    return "ok" if value < target else "over target"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20, help="samples per measurement")
    args = parser.parse_args()
    inside = in_process(max(args.runs, 50))
    outside, outside_cpu = cli_process(args.runs)
    bare, bare_cpu = process_ms([sys.executable, "-c", "pass"], args.runs)
    typer, typer_cpu = process_ms([sys.executable, "-c", "import typer"], args.runs)
    print(f"matrix of {JOBS} jobs (imports, stages, conditions), medians of {args.runs}")
    print(f"  build_matrix in-process          {inside:6.1f} ms           target < "
          f"{IN_PROCESS_TARGET_MS} ms  {verdict(inside, IN_PROCESS_TARGET_MS)}")  # fmt: skip
    print(f"  roundhouse matrix --json process {outside:6.1f} ms (cpu {outside_cpu:5.1f}) "
          f"target < {CLI_TARGET_MS} ms {verdict(outside, CLI_TARGET_MS)}")  # fmt: skip
    print(f"  reference python -c pass         {bare:6.1f} ms (cpu {bare_cpu:5.1f})")
    print(f"  reference python -c 'import typer' {typer:4.1f} ms (cpu {typer_cpu:5.1f})")


if __name__ == "__main__":
    main()
