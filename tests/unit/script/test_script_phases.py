"""Phase order, results and Travis's log lines, checked by running compiled scripts in bash.

Each test builds a real origin repository, compiles a job for it and runs the script.
"""

from __future__ import annotations

import re

import pytest
from script_support import Sandbox

DONE = "Done. Your build exited with {}."
STOPPED = "Your build has been stopped."


def test_passing_script(sandbox: Sandbox) -> None:
    run = sandbox.run(sandbox.job({"script": ["echo hello"]}))
    assert run.code == 0
    assert "$ echo hello" in run.lines
    assert "hello" in run.lines
    assert 'The command "echo hello" exited with 0.' in run.lines
    assert run.lines[-1] == DONE.format(0)


def test_failing_script_runs_every_command_and_fails(sandbox: Sandbox) -> None:
    run = sandbox.run(
        sandbox.job(
            {"script": ["false", "echo still running", "exit_code() { return 3; }; exit_code"]}
        )
    )
    assert run.code == 1
    assert 'The command "false" exited with 1.' in run.lines
    assert "still running" in run.lines
    assert any(line.endswith("exited with 3.") for line in run.lines)
    assert run.lines[-1] == DONE.format(1)


@pytest.mark.parametrize("phase", ["before_install", "install", "before_script"])
def test_failure_before_script_errors_the_job(sandbox: Sandbox, phase: str) -> None:
    config = {phase: ["echo first", "false", "echo never"], "script": ["echo script"]}
    run = sandbox.run(sandbox.job(config))
    assert run.code == 2
    assert f'The command "false" failed and exited with 1 during {phase}.' in run.lines
    assert run.lines[-1] == STOPPED
    assert "never" not in run.lines
    assert "script" not in run.lines
    assert DONE.format(2) not in run.text


def test_phase_order(sandbox: Sandbox) -> None:
    phases = [
        "before_install",
        "install",
        "before_script",
        "script",
        "after_success",
        "after_failure",
        "after_script",
    ]
    run = sandbox.run(sandbox.job({p: [f"echo ran-{p}"] for p in phases}))
    ran = [line for line in run.lines if line.startswith("ran-")]
    assert ran == [f"ran-{p}" for p in phases if p != "after_failure"]
    assert run.code == 0


def test_after_failure_runs_only_on_failure(sandbox: Sandbox) -> None:
    config = {"script": ["false"], "after_success": ["echo ok"], "after_failure": ["echo bad"]}
    run = sandbox.run(sandbox.job(config))
    assert "bad" in run.lines
    assert "ok" not in run.lines
    assert run.code == 1


def test_after_phases_never_change_the_result(sandbox: Sandbox) -> None:
    config = {
        "script": ["true"],
        "after_success": ["false"],
        "after_script": ["exit_three() { return 3; }; exit_three"],
    }
    run = sandbox.run(sandbox.job(config))
    assert run.code == 0
    assert run.lines[-1] == DONE.format(0)


def test_test_result_is_visible_to_after_script(sandbox: Sandbox) -> None:
    run = sandbox.run(
        sandbox.job({"script": ["false"], "after_script": ['echo "result=$TRAVIS_TEST_RESULT"']})
    )
    assert "result=1" in run.lines


def test_folds_for_setup_phases(sandbox: Sandbox) -> None:
    config = {"before_install": ["echo a"], "install": ["echo b", "echo c"], "script": ["echo d"]}
    run = sandbox.run(sandbox.job(config))
    raw = run.raw
    for name in ("before_install", "install.1", "install.2"):
        assert f"travis_fold:start:{name}\r\x1b[0K" in raw
        assert f"travis_fold:end:{name}\r\x1b[0K" in raw
    assert "travis_fold:start:install\r" not in raw
    assert "travis_fold:start:script" not in raw


def test_timing_markers_parse_back(sandbox: Sandbox) -> None:
    run = sandbox.run(sandbox.job({"install": ["sleep 0.05"], "script": ["true"]}))
    starts = re.findall(r"travis_time:start:([0-9a-f]{8})\r\x1b\[0K", run.raw)
    ends = re.findall(
        r"travis_time:end:([0-9a-f]{8}):start=(\d+),finish=(\d+),duration=(\d+),event=(\w+)\r\x1b\[0K",
        run.raw,
    )
    assert [e[0] for e in ends] == starts
    events = {e[4]: int(e[3]) for e in ends}
    assert events["install"] >= 50_000_000
    for _, start, finish, duration, _ in ends:
        assert int(finish) - int(start) == int(duration)


def test_command_echo_precedes_output(sandbox: Sandbox) -> None:
    run = sandbox.run(sandbox.job({"script": ["echo out"]}))
    assert re.search(r"travis_time:start:[0-9a-f]{8}\r\x1b\[0K\$ echo out\nout\n", run.raw)


def test_skip(sandbox: Sandbox) -> None:
    run = sandbox.run(sandbox.job({"language": "python", "install": "skip", "script": ["skip"]}))
    assert "Skipping the install step, as specified in the configuration." in run.lines
    assert "Skipping the script step, as specified in the configuration." in run.lines
    assert run.code == 0


def test_no_script_in_generic_passes(sandbox: Sandbox) -> None:
    run = sandbox.run(sandbox.job({"language": "minimal"}))
    assert run.code == 0
    assert run.lines[-1] == DONE.format(0)


def test_commands_reach_bash_as_written(sandbox: Sandbox) -> None:
    tricky = [
        "echo 'single' \"double\" `echo back` $(echo sub) \\$HOME",
        "X=kept",
        'echo "x=$X"',
        "if true; then\n  echo multi\nfi",
        "cat <<'EOF'\nliteral $X 'q'\nEOF",
        "cat <<EOF\nexpanded $X\nEOF",
        "printf '%s\\n' \"it's\"",
    ]
    run = sandbox.run(sandbox.job({"script": tricky}))
    assert "single double back sub $HOME" in run.lines
    assert "x=kept" in run.lines
    assert "multi" in run.lines
    assert "literal $X 'q'" in run.lines
    assert "expanded kept" in run.lines
    assert "it's" in run.lines
    assert run.code == 0


def test_syntax_error_fails_one_command_only(sandbox: Sandbox) -> None:
    run = sandbox.run(sandbox.job({"script": ["echo (", "echo after"]}))
    assert 'The command "echo (" exited with 2.' in run.lines
    assert "after" in run.lines
    assert run.code == 1


def test_cd_carries_over_between_phases(sandbox: Sandbox) -> None:
    job = sandbox.job({"before_script": ["cd sub"], "script": ["pwd"]}, files={"sub/f": "x"})
    run = sandbox.run(job)
    assert str(sandbox.build_dir / "sub") in run.lines


def test_user_commands_do_not_read_the_script(sandbox: Sandbox) -> None:
    run = sandbox.run(sandbox.job({"script": ["cat", "echo after-cat"]}))
    assert "after-cat" in run.lines
    assert run.code == 0


def test_python_default_script_fails_with_travis_message(sandbox: Sandbox) -> None:
    job = sandbox.job({"language": "python", "install": ["true"], "after_failure": ["echo af"]})
    run = sandbox.run(job)
    assert "Please override the script: key in your .travis.yml to run tests." in run.lines
    assert "af" in run.lines
    assert run.code == 1


def test_python_default_install_without_requirements(sandbox: Sandbox) -> None:
    run = sandbox.run(sandbox.job({"language": "python", "script": ["true"]}))
    assert (
        "Could not locate requirements.txt. Override the install: key in your .travis.yml "
        "to install dependencies." in run.lines
    )
    assert "travis_fold:start:install\r" in run.raw
    assert run.code == 0


def test_error_script_for_an_unusable_config(sandbox: Sandbox) -> None:
    run = sandbox.run(sandbox.job({"script": {"not": "a list"}}))
    assert run.code == 2
    assert (
        "There was an error in the .travis.yml file from which we could not recover." in run.lines
    )
