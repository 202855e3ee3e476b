"""Environment variables of a `.travis.yml`: splitting `A=1 B="x y"` lines, hashes, secure entries.

A normalised var is either the string `NAME=value` (value exactly as written, for bash) or
`{"secure": "<base64>"}`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

EnvVar = str | dict[str, Any]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SAFE_VALUE = re.compile(r"^[^\s\"'`\\$;&|<>()]*$")


def _read_value(text: str, i: int) -> int:
    """Index just past the shell word starting at `i` (quotes, backticks and $(...) kept);
    past the end of `text` when a quote is never closed."""
    n = len(text)
    while i < n and not text[i].isspace():
        char = text[i]
        if char == "\\":
            i += 2
        elif char in "\"'`":
            i = _skip_quoted(text, i, char)
        elif text.startswith("$(", i):
            i = _skip_subshell(text, i + 2)
        else:
            i += 1
    return i


def _skip_quoted(text: str, i: int, quote: str) -> int:
    i += 1
    while i < len(text) and text[i] != quote:
        # Only double quotes and backticks know backslash escapes in bash.
        i += 2 if text[i] == "\\" and quote != "'" else 1
    return i + 1


def _skip_subshell(text: str, i: int) -> int:
    depth = 1
    while i < len(text) and depth:
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
        elif text[i] in "\"'`":
            i = _skip_quoted(text, i, text[i]) - 1
        i += 1
    return i


def split_line(line: str) -> tuple[list[str], list[str]]:
    """Split one env line into `NAME=value` words; returns (vars, invalid words)."""
    found: list[str] = []
    invalid: list[str] = []
    i, n = 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        if line.startswith("SECURE ", i):
            # travis-build's marker for decrypted values; the var follows it.
            i += len("SECURE ")
            continue
        match = _NAME.match(line, i)
        is_pair = bool(match and match.end() < n and line[match.end()] == "=")
        end = _read_value(line, match.end() + 1 if match and is_pair else i)
        word = line[i:end]
        if end > n:
            invalid.append(word)  # an unclosed quote: FOO="
        elif is_pair:
            found.append(word)
        elif _quoted_pair(word):
            # "BAR='bar'": a whole assignment in quotes is that assignment.
            name, _, value = word[1:-1].partition("=")
            found.append(pair_text(name, value))
        else:
            invalid.append(word)
        i = max(end, i + 1)
    return found, invalid


def _quoted_pair(word: str) -> bool:
    if len(word) < 3 or word[0] not in "\"'" or word[-1] != word[0]:
        return False
    name, equals, _ = word[1:-1].partition("=")
    return bool(equals) and _NAME.fullmatch(name) is not None


def unquote(value: str) -> str:
    """The value bash would see for a simple word: quotes removed, escapes resolved."""
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        char = value[i]
        if char == "\\" and i + 1 < n:
            out.append(value[i + 1])
            i += 2
        elif char in "\"'":
            end = value.find(char, i + 1)
            if end < 0:
                out.append(value[i + 1 :])
                break
            out.append(value[i + 1 : end])
            i = end + 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def scalar_text(value: Any) -> str:
    """A YAML scalar as the text a shell variable gets."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def var_from_pair(name: str, value: Any) -> EnvVar:
    if isinstance(value, dict) and "secure" in value:
        return {"secure": value["secure"]}
    return pair_text(name, scalar_text(value))


def pair_text(name: str, text: str) -> str:
    """`NAME=value` with the value kept one shell word."""
    if not _SAFE_VALUE.match(text):
        # Keep the value one shell word, but leave $VAR expansion working.
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")
        text = f'"{escaped}"'
    return f"{name}={text}"


def vars_of(value: Any) -> tuple[list[EnvVar], list[str]]:
    """Flatten one env entry (string, hash, secure, or list of these) into vars."""
    result: list[EnvVar] = []
    invalid: list[str] = []
    items = value if isinstance(value, list) else [value]
    for item in items:
        if item is None:
            continue
        if isinstance(item, dict):
            if set(item) == {"secure"}:
                if item["secure"] is not None:
                    result.append({"secure": item["secure"]})
                continue
            for name, val in item.items():
                if _NAME.fullmatch(str(name)):
                    result.append(var_from_pair(str(name), val))
                else:
                    invalid.append(f"{name}={scalar_text(val)}")
        elif isinstance(item, list):
            more, bad = vars_of(item)
            result.extend(more)
            invalid.extend(bad)
        else:
            words, bad = split_line(scalar_text(item))
            result.extend(words)
            invalid.extend(bad)
    return result, invalid


def pairs(env: Sequence[EnvVar]) -> list[tuple[str, str]]:
    """(name, unquoted value) of the plain vars; secure ones have no readable value."""
    out: list[tuple[str, str]] = []
    for var in env:
        if isinstance(var, str) and "=" in var:
            name, _, raw = var.partition("=")
            out.append((name, unquote(raw)))
    return out


def settings_env(value: Any) -> dict[str, str]:
    """Repository-settings variables given in any of the request shapes, as a dict."""
    result: dict[str, str] = {}
    if isinstance(value, dict):
        for name, val in value.items():
            if not isinstance(val, dict):
                result[str(name)] = scalar_text(val)
        return result
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                result.update(settings_env(item))
            elif isinstance(item, str):
                result.update(pairs(split_line(item)[0]))
    elif isinstance(value, str):
        result.update(pairs(split_line(value)[0]))
    return result
