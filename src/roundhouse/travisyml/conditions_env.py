"""Normalises the `env` data a condition reads with `env(NAME)` into one flat mapping.

Accepts a mapping, "K=V K2=V2" shell strings, single-key mappings, or a list mixing them.
"""

from __future__ import annotations

import re
from typing import Any

from .conditions_common import cast

_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")
# Travis strips one pair of matching quotes around a value; Ruby's ^ and $ are line anchors.
_SURROUNDING_QUOTES = re.compile(r"^([\"'])(.*)\1$", re.M)


class _ShellSyntaxError(Exception):
    """A "K=V" string that is not valid shell; Travis then ignores the whole string."""


def normalize_env(env: Any) -> dict[str, Any]:
    """Flatten every supported `env` shape into {name: value}; later entries win."""
    if env is None:
        return {}
    if isinstance(env, dict):
        return _from_mapping(env)
    if isinstance(env, (list, tuple)):
        merged: dict[str, Any] = {}
        for item in env:
            merged.update(normalize_env(item))
        return merged
    return _from_shell(str(env).strip())


def strip_quotes(value: Any) -> Any:
    """Remove matching quotes around a string value read by env(), as Travis does."""
    if isinstance(value, str):
        return _SURROUNDING_QUOTES.sub(r"\2", value)
    return value


def _from_mapping(env: dict[Any, Any]) -> dict[str, Any]:
    # An encrypted entry cannot be read by a condition, so it must not become a variable.
    if list(env) == ["secure"]:
        return {}
    return {str(key): value for key, value in env.items()}


def _from_shell(text: str) -> dict[str, Any]:
    try:
        pairs = _shell_assignments(text)
    except _ShellSyntaxError:
        return {}
    return {name: cast(_unquote(raw)) for name, raw in pairs}


def _unquote(raw: str) -> str:
    match = _SURROUNDING_QUOTES.search(raw)
    return match.group(2) if match else raw


def _shell_assignments(text: str) -> list[tuple[str, str]]:
    """Split "A=1 B='x y'" into raw (name, value) pairs; values keep their quotes."""
    pairs: list[tuple[str, str]] = []
    pos = _skip_space(text, 0)
    while pos < len(text):
        match = _ASSIGNMENT.match(text, pos)
        if match is None:
            raise _ShellSyntaxError(text)
        end = _word_end(text, match.end())
        pairs.append((match.group(1), text[match.end() : end]))
        pos = _skip_space(text, end)
    return pairs


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _word_end(text: str, pos: int) -> int:
    """End of one shell word: quotes, backticks, $(…) and backslash escapes may hide spaces."""
    while pos < len(text) and not text[pos].isspace():
        pos = _token_end(text, pos)
    return pos


def _token_end(text: str, pos: int) -> int:
    char = text[pos]
    if char == "\\":
        return pos + 2
    if char in "\"'`":
        return _closing(text, pos + 1, char)
    if text.startswith("$(", pos):
        return _subshell_end(text, pos + 2)
    return pos + 1


def _closing(text: str, pos: int, quote: str) -> int:
    """Position after the quote that closes one opened just before `pos`."""
    while pos < len(text):
        if text[pos] == "\\" and quote != "'":
            pos += 2
            continue
        if text[pos] == quote:
            return pos + 1
        pos += 1
    raise _ShellSyntaxError(text)


def _subshell_end(text: str, pos: int) -> int:
    depth = 1
    while pos < len(text):
        char = text[pos]
        if char == ")":
            depth -= 1
            if depth == 0:
                return pos + 1
            pos += 1
        elif char == "(":
            depth += 1
            pos += 1
        else:
            pos = _token_end(text, pos) if char in "\\\"'`" else pos + 1
    raise _ShellSyntaxError(text)
