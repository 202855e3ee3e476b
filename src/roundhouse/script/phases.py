"""The user-facing phases: before_install … after_script, with Travis's folds and results.

Each phase comes from the config, else the language default; `skip` replaces it with a notice.
"""

from __future__ import annotations

from typing import Any

from roundhouse.script import languages
from roundhouse.script.shell import Cmd, Mode, echo, fold, render_cmd

SKIP_VALUES = frozenset({"skip", "ignore"})
# Phases whose failure errors the job at once (travis-internals.md 4.2, stage option table).
ASSERTED = frozenset({"before_install", "install", "before_script", "before_deploy"})
FOLDED = ASSERTED


class CompileError(ValueError):
    """The job config cannot become a script; the message is shown in the job log."""


def commands(config: dict[str, Any], phase: str) -> list[str] | None:
    """The phase's commands as strings; None when the config does not set the phase."""
    value = config.get(phase)
    if value is None:
        return None
    if isinstance(value, bool):
        # `install: true` is a common way to say "nothing to install": it runs `true`.
        return ["true"] if value else ["skip"]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(c, str | int | float | bool) for c in value):
        return [str(c).lower() if isinstance(c, bool) else str(c) for c in value]
    raise CompileError(f"the {phase} section must be a command or a list of commands")


def is_skip(cmds: list[str]) -> bool:
    return len(cmds) == 1 and cmds[0].strip() in SKIP_VALUES


def _mode(phase: str) -> Mode:
    if phase in ASSERTED:
        return "assert"
    return "result" if phase == "script" else "none"


def render_commands(phase: str, cmds: list[str]) -> list[str]:
    """User commands of one phase, each in its own fold where Travis folds the phase."""
    lines: list[str] = []
    for index, cmd in enumerate(cmds, start=1):
        body = render_cmd(Cmd(cmd), phase, _mode(phase))
        if phase in FOLDED:
            name = phase if len(cmds) == 1 else f"{phase}.{index}"
            body = [fold("start", name), *body, fold("end", name)]
        lines += body
    return lines


def _default(phase: str, language: str) -> list[str]:
    """Travis's builtin steps for the phases that have them (folded as the phase name)."""
    if phase == "install":
        body = languages.default_install(language)
        return [fold("start", "install"), *body, fold("end", "install")] if body else []
    if phase == "script":
        return languages.default_script(language) or []
    return []


def render_phase(phase: str, config: dict[str, Any]) -> list[str]:
    """All lines of one phase, including the result bookkeeping of `script`."""
    cmds = commands(config, phase)
    if cmds is not None and is_skip(cmds):
        lines = [echo(f"Skipping the {phase} step, as specified in the configuration.")]
        return [*lines, "export TRAVIS_TEST_RESULT=0"] if phase == "script" else lines
    if cmds is None:
        lines = _default(phase, languages.canonical(config))
    else:
        lines = render_commands(phase, cmds)
    if phase == "script":
        # With no script commands at all the job passes, as Travis's generic language does.
        lines.append("if [[ -z $TRAVIS_TEST_RESULT ]]; then export TRAVIS_TEST_RESULT=0; fi")
    return lines


def render_after(config: dict[str, Any], deploy: list[str]) -> list[str]:
    """after_success (then the deploys) or after_failure by the script's result; after_script."""
    success = render_phase("after_success", config) + deploy
    failure = render_phase("after_failure", config)
    lines: list[str] = []
    if success:
        lines += ["if [[ $TRAVIS_TEST_RESULT = 0 ]]; then", *success, "fi"]
    if failure:
        lines += ["if [[ $TRAVIS_TEST_RESULT != 0 ]]; then", *failure, "fi"]
    return lines + render_phase("after_script", config)
