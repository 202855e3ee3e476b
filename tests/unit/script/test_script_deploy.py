"""Deploys with `provider: script`: when they run, what they print, how failures end the job.

Conditions are evaluated by the compiled script at run time, so every case runs in bash.
"""

from __future__ import annotations

from typing import Any

import pytest
from script_support import Sandbox, payload

SKIP = "Skipping a deployment with the script provider because "


def _deploy(sandbox: Sandbox, deploy: Any, **overrides: Any) -> Any:
    config = {
        "git": {"clone": False},
        "script": ["true"],
        "before_deploy": ["echo before-deploy"],
        "deploy": deploy,
        "after_deploy": ["echo after-deploy"],
        **overrides.pop("config", {}),
    }
    return sandbox.run(payload(config, **overrides))


def test_script_deploy_runs_on_the_default_branch(sandbox: Sandbox) -> None:
    run = _deploy(sandbox, {"provider": "script", "script": "echo deploying"}, branch="master")
    ran = [line for line in run.lines if line in ("before-deploy", "deploying", "after-deploy")]
    assert ran == ["before-deploy", "deploying", "after-deploy"]
    assert "travis_fold:start:dpl_0\r\x1b[0K" in run.raw
    assert run.code == 0


def test_not_on_other_branches(sandbox: Sandbox) -> None:
    run = _deploy(sandbox, [{"provider": "script", "script": "echo deploying"}], branch="feature")
    assert SKIP + "this branch is not permitted: feature" in run.lines
    assert "before-deploy" not in run.lines
    assert run.code == 0


def test_on_branch_and_condition(sandbox: Sandbox) -> None:
    deploy = {
        "provider": "script",
        "script": "echo deploying",
        "on": {"branch": ["dev", "feature"]},
    }
    assert "deploying" in _deploy(sandbox, deploy, branch="feature").lines
    deploy["on"]["condition"] = "$TRAVIS_OS_NAME = osx"
    run = _deploy(sandbox, deploy, branch="feature")
    assert SKIP + "a custom condition was not met" in run.lines


def test_on_tags(sandbox: Sandbox) -> None:
    deploy = {"provider": "script", "script": "echo deploying", "on": {"tags": True}}
    run = _deploy(sandbox, deploy, branch="feature")
    assert SKIP + "this is not a tagged commit" in run.lines
    run = _deploy(sandbox, deploy, branch="feature", commit={"tag": "v2"})
    assert "deploying" in run.lines


def test_never_for_pull_requests(sandbox: Sandbox) -> None:
    deploy = {"provider": "script", "script": "echo deploying", "on": {"all_branches": True}}
    run = _deploy(sandbox, deploy, commit={"pull_request": 4}, build={"event_type": "pull_request"})
    assert SKIP + "the current build is a pull request." in run.lines
    assert "deploying" not in run.lines


def test_not_after_a_failed_script(sandbox: Sandbox) -> None:
    deploy = {"provider": "script", "script": "echo deploying", "on": {"all_branches": True}}
    run = _deploy(sandbox, deploy, config={"script": ["false"]})
    assert "deploying" not in run.lines
    assert "before-deploy" not in run.lines
    assert run.code == 1


def test_failed_deploy_errors_the_job(sandbox: Sandbox) -> None:
    deploy = {
        "provider": "script",
        "script": "exit_four() { return 4; }; exit_four",
        "on": {"all_branches": True},
    }
    run = _deploy(sandbox, deploy, config={"after_script": ["echo after-script"]})
    assert "failed to deploy" in run.lines
    assert "after-deploy" not in run.lines
    assert run.code == 2


def test_failing_before_deploy_errors_the_job(sandbox: Sandbox) -> None:
    deploy = {"provider": "script", "script": "echo deploying", "on": {"all_branches": True}}
    run = _deploy(sandbox, deploy, config={"before_deploy": ["false"]})
    assert 'The command "false" failed and exited with 1 during before_deploy.' in run.lines
    assert run.code == 2


@pytest.mark.parametrize("allow", [False, True])
def test_unsupported_provider_is_reported(sandbox: Sandbox, allow: bool) -> None:
    deploy = {"provider": "heroku", "on": {"all_branches": True}, "allow_failure": allow}
    run = _deploy(sandbox, deploy)
    assert 'The deploy provider "heroku" is not supported; use provider: script.' in run.lines
    assert run.code == (0 if allow else 2)
