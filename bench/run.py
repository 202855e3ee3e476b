"""The skeleton's benchmarks, on `roundhouse up` with the local worker, measured from outside.

Run with `make bench` (or `python -m bench.run [--runs N]`); copy the output into RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.system import Bench, running_platform, wait_until

LINES = 200_000
# 79 characters and a newline per line, without a shell loop (which would hide the cost).
PRINT_LINES = f"seq -f '%079g' {LINES}"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


@dataclass
class Latency:
    to_start: list[float] = field(default_factory=list)
    to_passed: list[float] = field(default_factory=list)
    platform_cpu: list[float] = field(default_factory=list)  # per job, the platform process
    job_cpu: list[float] = field(default_factory=list)  # per job, bash and what it ran


def start_latency(bench: Bench, runs: int) -> Latency:
    """Trigger → the script's first command runs, and trigger → `passed` in the API.

    Until the script has run, only the file system is watched: API polls would take CPU
    from the platform being measured. Then the API is polled every 10 ms.
    """
    marker = bench.root / "started-at"
    slug = bench.repo("latency", f"language: shell\nscript: echo $EPOCHREALTIME > {marker}\n")
    result = Latency()
    for _ in range(runs + 1):  # the first run warms the git mirror and the caches
        marker.unlink(missing_ok=True)
        own, children = bench.cpu_seconds()
        triggered = time.time()
        request_id = bench.trigger(slug)
        started = float(
            wait_until(
                lambda: marker.exists() and marker.read_text().strip(), 30, "the script", 0.001
            )
        )
        build = bench.finished(bench.build_of(slug, request_id))
        passed = time.time()
        assert build["state"] == "passed", build
        own_after, children_after = bench.cpu_seconds()
        result.to_start.append(started - triggered)
        result.to_passed.append(passed - triggered)
        result.platform_cpu.append(own_after - own)
        result.job_cpu.append(children_after - children)
    return Latency(*(figures[1:] for figures in vars(result).values()))


def log_throughput(bench: Bench, runs: int) -> list[dict[str, float]]:
    """Jobs printing 200,000 lines of 80 characters, against the same command to /dev/null."""
    timing = bench.root / "command-seconds"
    script = f'start=$EPOCHREALTIME; {PRINT_LINES}; echo "$start $EPOCHREALTIME" > {timing}'
    slug = bench.repo("loglines", f"language: shell\nscript:\n  - |\n    {script}\n")
    return [log_run(bench, slug, timing) for _ in range(runs)]


def log_run(bench: Bench, slug: str, timing: Path) -> dict[str, float]:
    own, children = bench.cpu_seconds()
    triggered = time.monotonic()
    build = bench.finished(bench.build_of(slug, bench.trigger(slug)), every=0.1)
    finished = time.monotonic()
    own_after, children_after = bench.cpu_seconds()
    assert build["state"] == "passed", build
    job_id = build["jobs"][0]["id"]

    def printed_lines(text: str) -> int:
        return sum(1 for line in text.splitlines() if len(line) == 79 and line.isdigit())

    def complete_log() -> int | None:
        count = printed_lines(bench.http.get(f"/api/job/{job_id}/log.txt").text)
        return count if count >= LINES else None

    stored = wait_until(complete_log, 60, "the stored log to hold every line", every=0.5)
    begin, end = (float(v) for v in timing.read_text().split())
    direct = []
    for _ in range(5):
        started = time.monotonic()
        subprocess.run(["bash", "-c", f"{PRINT_LINES} > /dev/null"], check=True)
        direct.append(time.monotonic() - started)
    return {
        "in_job": end - begin,
        "direct": statistics.median(direct),
        "trigger_to_passed": finished - triggered,
        "platform_cpu": own_after - own,
        "job_cpu": children_after - children,
        "lines_stored": stored,
    }


def idle_rss(bench: Bench) -> int:
    time.sleep(2)  # a measurement of idleness, not synchronisation: let start-up work settle
    return bench.rss_kib()


def machine() -> str:
    cpus = Path("/proc/cpuinfo").read_text().count("processor\t:")
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    python = platform.python_version()
    return (
        f"{platform.system()} {platform.release()}, {cpus} × {model}, Python {python}; "
        f"CPU speed: {cpu_speed_ms():.0f} ms for 10 M Python additions (best of 3)"
    )


def cpu_speed_ms() -> float:
    """How fast this machine runs Python right now: the same vCPU model varies twofold
    between machines and hours, and every figure here scales with it."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        total = 0
        for number in range(10_000_000):
            total += number
        best = min(best, time.process_time() - started)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--log-runs", type=int, default=10, help="200,000-line jobs to run")
    args = parser.parse_args()
    runs, log_runs = args.runs, args.log_runs
    print(f"machine: {machine()}; load average before: {os.getloadavg()[0]:.1f}")
    with running_platform(workers=2) as bench:
        rss = idle_rss(bench)
        print(f"platform idle RSS (roundhouse up, 2 local slots): {rss / 1024:.0f} MB")
        latency = start_latency(bench, runs)
        for name, figures in (
            ("trigger → first script line", latency.to_start),
            ("trigger → passed in the API", latency.to_passed),
            ("CPU time of the platform process per job", latency.platform_cpu),
            ("CPU time of the job's processes per job", latency.job_cpu),
        ):
            print(
                f"{name}, median of {runs}: {ms(statistics.median(figures))} "
                f"(min {ms(min(figures))}, max {ms(max(figures))})"
            )
        runs_of_lines = log_throughput(bench, log_runs)
        for lines in runs_of_lines:
            print(
                f"{LINES:,} lines of 80 chars: the command took {ms(lines['in_job'])} in the job, "
                f"{ms(lines['direct'])} to /dev/null directly "
                f"({lines['in_job'] / lines['direct']:.2f}×); whole job trigger → passed "
                f"{ms(lines['trigger_to_passed'])}; {lines['lines_stored']:,} lines stored; "
                f"CPU time: platform {ms(lines['platform_cpu'])}, job {ms(lines['job_cpu'])}"
            )
        ratios = [lines["in_job"] / lines["direct"] for lines in runs_of_lines]
        print(
            f"{LINES:,} lines, in the job vs to /dev/null, median of {log_runs}: "
            f"{statistics.median(ratios):.2f}× (min {min(ratios):.2f}, max {max(ratios):.2f})"
        )
        print(f"load average after the runs: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
