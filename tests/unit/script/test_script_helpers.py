"""The travis_* helpers users call from their commands: retry, wait, terminate, fold, cmd.

Scripts run for real; process clean-up is checked against the kernel's process table.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from script_support import Sandbox, payload

from roundhouse.protocol import JobPayload


def _job(*script: str) -> JobPayload:
    return payload({"git": {"clone": False}, "script": list(script)})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def test_travis_retry_retries_until_success(sandbox: Sandbox) -> None:
    counter = sandbox.root / "count"
    flaky = (
        f"n=$(( $(cat {counter} 2>/dev/null || echo 0) + 1 )); echo $n > {counter}; [ $n -ge 3 ]"
    )
    run = sandbox.run(_job(f"travis_retry bash -c '{flaky}'"))
    assert counter.read_text().strip() == "3"
    assert f'The command "bash -c {flaky}" failed. Retrying, 2 of 3.' in run.lines
    assert f'The command "bash -c {flaky}" failed. Retrying, 3 of 3.' in run.lines
    assert run.code == 0


def test_travis_retry_gives_up_after_three(sandbox: Sandbox) -> None:
    run = sandbox.run(_job("travis_retry false"))
    assert 'The command "false" failed 3 times.' in run.lines
    assert 'The command "travis_retry false" exited with 1.' in run.lines
    assert run.code == 1


def test_travis_wait_reports_and_shows_the_log(sandbox: Sandbox) -> None:
    run = sandbox.run(
        _job("travis_wait 3 bash -c 'echo inner; sleep 0.3; exit 3'"),
        extra_env={"ROUNDHOUSE_WAIT_TICK": "0.2"},
    )
    assert "Still running (1 of 3): bash -c echo inner; sleep 0.3; exit 3" in run.lines
    assert "The command bash -c echo inner; sleep 0.3; exit 3 exited with 3." in run.lines
    log = run.lines.index("Log:")
    assert run.lines[log + 2] == "inner"
    assert run.code == 1


def test_travis_wait_times_out(sandbox: Sandbox) -> None:
    started = time.monotonic()
    run = sandbox.run(_job("travis_wait 2 sleep 30"), extra_env={"ROUNDHOUSE_WAIT_TICK": "0.2"})
    assert time.monotonic() - started < 10
    assert 'Timeout (2 minutes) reached. Terminating "sleep 30"' in run.lines
    assert "The command sleep 30 exited with 137." in run.lines
    assert run.code == 1


def test_travis_terminate_stops_the_job_at_once(sandbox: Sandbox) -> None:
    run = sandbox.run(_job("echo before", "travis_terminate 3", "echo after"))
    assert "before" in run.lines
    assert "after" not in run.lines
    assert run.code == 3


def test_background_processes_are_killed_when_the_job_ends(sandbox: Sandbox) -> None:
    pids = sandbox.root / "pids"
    run = sandbox.run(
        _job(
            f"sleep 300 >/dev/null 2>&1 & echo $! >> {pids}",
            # A double fork leaves the shell's job table but stays in the job's process group.
            f"( sleep 301 >/dev/null 2>&1 & echo $! >> {pids} )",
            # One that still holds the log pipe: the worker would wait for it without clean-up.
            "sleep 302 &",
        ),
        timeout=10,
    )
    assert run.code == 0
    found = [int(p) for p in pids.read_text().split()]
    assert len(found) == 2
    time.sleep(0.1)
    assert not any(_alive(pid) for pid in found)


def test_travis_fold_and_cmd_for_users(sandbox: Sandbox) -> None:
    run = sandbox.run(
        _job(
            "travis_fold start mine; echo inside; travis_fold end mine",
            "travis_cmd 'echo wrapped' --echo --timing",
        )
    )
    assert "travis_fold:start:mine\r\x1b[0Kinside\ntravis_fold:end:mine\r\x1b[0K" in run.raw
    assert "$ echo wrapped" in run.lines
    assert "wrapped" in run.lines
    assert run.code == 0


def test_set_e_in_a_command_does_not_break_bookkeeping(sandbox: Sandbox) -> None:
    run = sandbox.run(_job("set -e", "echo ok"))
    assert 'The command "echo ok" exited with 0.' in run.lines
    assert run.lines[-1] == "Done. Your build exited with 0."
    assert run.code == 0
