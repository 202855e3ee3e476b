"""Benchmarks of a production topology: one `roundhouse platform` on PostgreSQL and RabbitMQ,
two `roundhouse worker` processes with 4 slots each, all on this machine.

    python -m bench.topology [--runs 20] [--jobs 1000] [--lines 200000]

- dispatch latency: trigger → the script's first command runs (median; target < 150 ms);
- throughput: --jobs `script: true` jobs, in builds of 100 (target ≥ 30 jobs/s), with the
  CPU time the platform process used meanwhile (this bench's own polling of the API included);
- live log: a job printing --lines lines, each stamped with the time it was printed; a live
  subscriber (the SSE stream) notes when each arrives (median target < 500 ms), and the
  stored log must hold every line; with the platform's CPU time from trigger to the end.

PostgreSQL (ROUNDHOUSE_BENCH_POSTGRES, default the test database) gets a schema of its own
and RabbitMQ (ROUNDHOUSE_BENCH_RABBITMQ) a vhost of its own, both removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.run import machine
from bench.system import Bench, running_topology, wait_until

BATCH = 100


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def dispatch_latency(bench: Bench, runs: int) -> list[float]:
    marker = bench.root / "started-at"
    slug = bench.repo("latency", f"language: shell\nscript: echo $EPOCHREALTIME > {marker}\n")
    latencies = []
    for _ in range(runs + 1):  # the first run warms the git mirror and the caches
        marker.unlink(missing_ok=True)
        triggered = time.time()
        request = bench.trigger(slug)
        # Only the marker is watched meanwhile: asking the API would load the platform.
        wait_until(lambda: marker.exists() and marker.read_text(), 60, "the script", every=0.001)
        latencies.append(float(marker.read_text()) - triggered)
        build = bench.finished(bench.build_of(slug, request), every=0.05)
        assert build["state"] == "passed", build
    return latencies[1:]


def cpu_seconds(pid: int, children: bool = False) -> float:
    """A process's CPU time (user + system), or that of its finished children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    first = 13 if children else 11
    return (int(fields[first]) + int(fields[first + 1])) / os.sysconf("SC_CLK_TCK")


def command_cpu(name: str) -> float:
    """CPU time of every process whose command is `name`, with their finished children
    (PostgreSQL's connections end, and their time goes to the server process)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == name:
                pid = int(entry.name)
                total += cpu_seconds(pid) + cpu_seconds(pid, children=True)
        except (OSError, IndexError):
            continue  # gone meanwhile: its CPU time goes with it
    return total


def cpu_by_part(bench: Bench) -> dict[str, float]:
    """CPU time so far of each part of the topology: this machine's only RabbitMQ and
    PostgreSQL are counted whole, other users of them included."""
    workers = [w.pid for w in bench.workers]
    return {
        "platform": cpu_seconds(bench.process.pid),
        "workers": sum(cpu_seconds(pid) for pid in workers),
        "jobs (bash, git)": sum(cpu_seconds(pid, children=True) for pid in workers),
        "RabbitMQ": command_cpu("beam.smp"),
        "PostgreSQL": command_cpu("postgres"),
    }


def throughput(bench: Bench, jobs: int) -> dict[str, Any]:
    matrix = "".join(f"    - N={n}\n" for n in range(BATCH))
    slug = bench.repo("throughput", f"language: shell\nenv:\n  jobs:\n{matrix}script: true\n")
    bench.finished(bench.build_of(slug, bench.trigger(slug)), every=0.2)  # warm-up build
    cpu, started = cpu_by_part(bench), time.monotonic()
    requests = [bench.trigger(slug) for _ in range(jobs // BATCH)]
    builds = [bench.build_of(slug, request) for request in requests]
    # Asking for a 100-job build costs the platform CPU of its own: wait on the last one
    # (builds run in order), then look at each once.
    bench.finished(builds[-1], timeout=600, every=0.5)
    states = [bench.finished(build, timeout=600, every=0.2)["state"] for build in builds]
    elapsed = time.monotonic() - started
    assert set(states) == {"passed"}, states
    used = {part: seconds - cpu[part] for part, seconds in cpu_by_part(bench).items()}
    return {"jobs_per_s": jobs / elapsed, "seconds": elapsed, "cpu": used}


def live_log(bench: Bench, lines: int) -> dict[str, float]:
    # Each line: the time it was printed, and its number; written line by line to the pipe.
    printer = (
        "import sys, time\n"
        "out = sys.stdout\n"
        f"for n in range({lines}):\n"
        "    out.write(f'{time.time():.6f} {n:07d}\\n')\n"
        "    out.flush()\n"
    )
    (bench.root / "printer.py").write_text(printer)
    slug = bench.repo("loglines", f"language: shell\nscript: python3 {bench.root}/printer.py\n")
    cpu = cpu_seconds(bench.process.pid)
    build_id = bench.build_of(slug, bench.trigger(slug))
    job_id = bench.http.get(f"/api/build/{build_id}").json()["jobs"][0]["id"]
    delays: list[float] = []
    seen: list[int] = []
    failures: list[BaseException] = []
    subscribed = threading.Event()

    def follow() -> None:
        try:
            read_stream()
        except BaseException as error:  # reported by the main thread
            failures.append(error)
        finally:
            subscribed.set()

    def read_stream() -> None:
        headers = dict(bench.http.headers)
        with httpx.stream(
            "GET", f"{bench.url}/api/job/{job_id}/log/stream", headers=headers, timeout=None
        ) as response:
            response.raise_for_status()
            subscribed.set()
            rest = ""
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                arrived = time.time()
                content = json.loads(line[5:]).get("content", "")
                text = rest + content
                *complete, rest = text.split("\n")
                for entry in complete:
                    stamp, _, number = entry.partition(" ")
                    if number.isdigit() and len(number) == 7:
                        delays.append(arrived - float(stamp))
                        seen.append(int(number))

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    subscribed.wait(30)
    build = bench.finished(build_id, timeout=300, every=0.2)
    reader.join(60)
    used = cpu_seconds(bench.process.pid) - cpu
    assert build["state"] == "passed", build
    if failures:
        raise RuntimeError(f"the live subscriber failed: {failures[0]!r}") from failures[0]
    assert delays, "the live subscriber saw no line"

    def stored() -> int | None:
        text = bench.http.get(f"/api/job/{job_id}/log.txt").text
        count = sum(1 for line in text.splitlines() if line[-8:-7] == " " and line[-7:].isdigit())
        return count if count >= lines else None

    stored_lines = wait_until(stored, 60, "the stored log to hold every line", every=0.5)
    return {
        "median": statistics.median(delays),
        "p95": sorted(delays)[int(len(delays) * 0.95)],
        "live_lines": len(seen),
        "in_order": float(seen == sorted(seen)),
        "stored": stored_lines,
        "cpu_s": used,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument(
        "--only", choices=("dispatch", "throughput", "log"), help="run this figure alone"
    )
    args = parser.parse_args()
    print(f"machine: {machine()}; load average before: {os.getloadavg()[0]:.1f}")
    with running_topology(workers=2, slots=4) as bench:
        if args.only in (None, "dispatch"):
            report_dispatch(bench, args.runs)
        if args.only in (None, "throughput"):
            report_throughput(bench, args.jobs)
        if args.only in (None, "log"):
            report_live_log(bench, args.lines)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def report_dispatch(bench: Bench, runs: int) -> None:
    latencies = dispatch_latency(bench, runs)
    print(
        f"dispatch latency (trigger → script start), median of {runs}: "
        f"{ms(statistics.median(latencies))} (min {ms(min(latencies))}, "
        f"max {ms(max(latencies))})"
    )


def report_throughput(bench: Bench, jobs: int) -> None:
    rate = throughput(bench, jobs)
    cpu, platform = rate["cpu"], rate["cpu"]["platform"]
    print(
        f"throughput: {jobs} `script: true` jobs in {rate['seconds']:.1f} s = "
        f"{rate['jobs_per_s']:.1f} jobs/s; platform CPU {platform:.1f} s "
        f"= {platform / jobs * 1000:.1f} ms per job "
        f"({platform / rate['seconds'] * 100:.0f} % of one core)"
    )
    print(
        "CPU per job: "
        + ", ".join(f"{part} {seconds / jobs * 1000:.1f} ms" for part, seconds in cpu.items())
        + f"; all {sum(cpu.values()) / jobs * 1000:.1f} ms"
    )


def report_live_log(bench: Bench, lines: int) -> None:
    live = live_log(bench, lines)
    print(
        f"live log of {lines:,} lines: a subscriber saw each line a median "
        f"{ms(live['median'])} after it was printed (95th percentile {ms(live['p95'])}); "
        f"{live['live_lines']:,} lines live, in order: {bool(live['in_order'])}; "
        f"{live['stored']:,} lines stored; platform CPU {live['cpu_s']:.1f} s = "
        f"{live['cpu_s'] / lines * 1e6:.0f} µs per line"
    )


if __name__ == "__main__":
    main()
