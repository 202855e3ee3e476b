"""Bash text building blocks for the job script compiler.

Quoting of user text, the helper library, and the lines that wrap one command in Travis markers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

Mode = Literal["assert", "result", "none"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def quote(text: str) -> str:
    """Single-quote text for bash so that it reaches the shell byte for byte."""
    # Bash strings cannot hold NUL; anything else survives single quotes unchanged.
    return "'" + text.replace("\0", "").replace("'", "'\\''") + "'"


_SAFE_WORD = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


def word(text: str) -> str:
    """Text as one shell word: bare when that is unambiguous (so logs read naturally)."""
    return text if _SAFE_WORD.fullmatch(text) else quote(text)


def is_name(text: str) -> bool:
    """True when text is a valid shell variable name."""
    return _NAME.fullmatch(text) is not None


@cache
def library(name: str) -> str:
    """A bash helper file of this package (bash/<name>.sh), read once per process."""
    path = resources.files(__package__).joinpath(f"bash/{name}.sh")
    return path.read_text(encoding="utf-8")


def helpers() -> str:
    """The bash helper functions inlined at the top of every script."""
    return library("helpers")


@dataclass(frozen=True)
class Cmd:
    """One command as the log shows it: `run` is evaluated, `display` follows the `$ `."""

    run: str
    display: str | None = None
    echo: bool = True
    timing: bool = True

    @property
    def shown(self) -> str:
        return self.run if self.display is None else self.display


def render_cmd(cmd: Cmd, stage: str, mode: Mode) -> list[str]:
    """Lines running one command with echo, timing markers and its assert/result bookkeeping."""
    # `eval` at the top level keeps user variables global and turns a syntax error in one
    # command into a failed command instead of a broken script.
    display = quote(cmd.shown if cmd.echo else "")
    return render_raw(display, "eval " + quote(cmd.run), stage, mode, timing=cmd.timing)


def render_raw(display: str, run: str, stage: str, mode: Mode, timing: bool = True) -> list[str]:
    """Like render_cmd, with display and run given as ready bash text (may expand variables)."""
    start = "_rh_start " + display + ("" if timing else " notime")
    return [start, run, f"_rh_finish $? {stage} {mode}"]


def fold(action: Literal["start", "end"], name: str) -> str:
    """A travis_fold marker line."""
    return f"travis_fold {action} {quote(name)}"


def echo(text: str, color: str | None = None) -> str:
    """A line printing text, optionally in one of the ANSI_* colours."""
    if color is None:
        return f"printf '%s\\n' {quote(text)}"
    return f'printf \'%s%s%s\\n\' "$ANSI_{color}" {quote(text)} "$ANSI_RESET"'
