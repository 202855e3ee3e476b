"""Deploys: `provider: script` with `on:` conditions and before_deploy/after_deploy.

Runs only when the script passed and never for pull requests; a failed deploy errors the job.
"""

from __future__ import annotations

from typing import Any

from roundhouse.script.languages import VERSION_KEYS
from roundhouse.script.phases import CompileError, commands, render_commands
from roundhouse.script.shell import Cmd, echo, quote, render_cmd

SKIP = "Skipping a deployment with the {} provider because {}"


def providers(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The deploy entries of a config, each a mapping with a provider."""
    value = config.get("deploy")
    if not value:
        return []
    entries = value if isinstance(value, list) else [value]
    if not all(isinstance(e, dict) for e in entries):
        raise CompileError("each deploy entry must be a mapping with a provider")
    return [e for e in entries if e.get("provider")]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _any_equal(variable: str, values: list[str]) -> str:
    return " || ".join(f"${variable} == {quote(v)}" for v in values)


def _checks(entry: dict[str, Any], payload: Any) -> list[tuple[str, str]]:
    """(bash test that must hold, reason shown when it does not), in Travis's order."""
    on: dict[str, Any] = entry["on"] if isinstance(entry.get("on"), dict) else {}
    checks = [("$TRAVIS_PULL_REQUEST == false", "the current build is a pull request.")]
    if on.get("repo"):
        checks.append(
            (
                f"$TRAVIS_REPO_SLUG == {quote(str(on['repo']))}",
                "this repo's name does not match one specified in .travis.yml's "
                f"deploy.on.repo: {on['repo']}",
            )
        )
    tags = on.get("tags")
    if tags is True:
        checks.append(("-n $TRAVIS_TAG", "this is not a tagged commit"))
    elif tags is False:
        checks.append(("-z $TRAVIS_TAG", "this is a tagged commit"))
    if not on.get("all_branches") and tags is not True:
        branches = _as_list(on.get("branch"))
        if not branches:
            default = payload["repository"].get("default_branch")
            # Travis deploys from master by default; repositories made since use main.
            branches = [default] if default else ["master", "main"]
        checks.append((_any_equal("TRAVIS_BRANCH", branches), "this branch is not permitted: "))
    for key, name in VERSION_KEYS.items():
        if on.get(key) is not None:
            versions = _as_list(on[key])
            checks.append((_any_equal(f"TRAVIS_{name}_VERSION", versions), f"this is not on {key}"))
    checks += [(str(c), "a custom condition was not met") for c in _as_list(on.get("condition"))]
    return checks


def _run_provider(entry: dict[str, Any], index: int) -> list[str]:
    """The deploy itself; only `script` is supported, anything else errors the job loudly."""
    provider = str(entry["provider"])
    allow = bool(entry.get("allow_failure"))
    if provider != "script":
        lines = [
            echo(f'The deploy provider "{provider}" is not supported; use provider: script.', "RED")
        ]
        return [*lines, "" if allow else "travis_terminate 2"]
    lines = [f"travis_fold start dpl_{index}"]
    for cmd in _as_list(entry.get("script")):
        lines += render_cmd(Cmd(cmd), "deploy", "none")
        failed = [echo("failed to deploy", "RED")] + ([] if allow else ["travis_terminate 2"])
        lines += ["if [[ $_rh_last -ne 0 ]]; then", *failed, "fi"]
    return [*lines, f"travis_fold end dpl_{index}"]


def render_deploy(payload: Any) -> list[str]:
    """Every deploy entry with its conditions, to be placed after after_success."""
    config: dict[str, Any] = payload.get("config") or {}
    before = commands(config, "before_deploy") or []
    after = commands(config, "after_deploy") or []
    lines: list[str] = []
    for index, entry in enumerate(providers(config)):
        provider = str(entry["provider"])
        checks = _checks(entry, payload)
        branch_reason = "this branch is not permitted: "
        for n, (test, reason) in enumerate(checks):
            text = SKIP.format(provider, reason)
            shown = echo(text) if reason != branch_reason else f'echo {quote(text)}"$TRAVIS_BRANCH"'
            lines += [("if" if n == 0 else "elif") + f" ! [[ {test} ]]; then", "  " + shown]
        lines.append("else")
        lines += render_commands("before_deploy", before)
        lines += _run_provider(entry, index)
        lines += render_commands("after_deploy", after)
        lines.append("fi")
    return lines
