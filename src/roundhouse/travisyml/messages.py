"""Messages about a `.travis.yml`: level, key path, stable code, text and line.

Every problem the engine finds becomes a Message; nothing in the engine raises on bad input.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

LEVELS = ("info", "warn", "error", "alert")

# Texts per code; `{name}` placeholders are filled from the message args.
TEXTS: dict[str, str] = {
    "alias_key": "{alias} is an alias for {key}, using {key}",
    "alias_value": "{alias} is an alias for {value}, using {value}",
    "overwrite": "both {key} and {other} given, {other} overwrites {key}",
    "default": 'missing {key}, using the default "{default}"',
    "deprecated": "deprecated: {info}",
    "deprecated_key": "deprecated key {key} ({info})",
    "deprecated_value": 'deprecated value "{value}" ({info})',
    "downcase": 'downcasing "{value}"',
    "edge": "this key is experimental and might change or be removed",
    "duplicate": "duplicate values: {values}",
    "duplicate_key": "duplicate key {key}, the later value wins",
    "empty": "dropping empty section {key}",
    "find_key": "key {original} is not known, but {key} is, using {key}",
    "find_value": "value {original} is not known, but {value} is, using {value}",
    "clean_key": "key {original} contains unsupported characters, using {key}",
    "underscore_key": "key {original} is camelcased, using {key}",
    "strip_key": "key {original} contains whitespace, using {key}",
    "unexpected_seq": 'unexpected sequence, using the first value ("{value}")',
    "unknown_key": 'unknown key "{key}" ({value})',
    "unknown_value": "dropping unknown value: {value}",
    "unsupported": "{key} ({value}) is not supported on {on_key} {on_value}",
    "invalid_type": "dropping unexpected {actual}, expected {expected} ({value})",
    "invalid_format": "invalid format: {value}",
    "invalid_condition": "invalid condition: {condition}",
    "invalid_env_var": "invalid env var: {var}",
    "secure": "using a plain string on a key that expects an encrypted string",
    "undecryptable": "unable to decrypt a secure value: {reason}",
    "secure_dropped": "dropping secure values: {reason}",
    "skip_job": "skipping job #{number}, condition does not match: {condition}",
    "skip_stage": "skipping stage #{number}, condition does not match: {condition}",
    "skip_exclude": "skipping jobs exclude rule #{number}, condition does not match: {condition}",
    "skip_allow_failure": (
        "skipping jobs allow failure rule #{number}, condition does not match: {condition}"
    ),
    "skip_notification": (
        "skipping notification {type} #{number}, condition does not match: {condition}"
    ),
    "migrate": "{key} is not allowed on {parent}, moving it to {target}",
    "too_many_jobs": "the build matrix has {count} jobs, the limit is {max}; dropping the rest",
    "syntax_error": "syntax error: {problem} (line {line}, column {column})",
    "too_large": "the config is {size} bytes, the limit is {max}",
    "too_many_nodes": "the config expands to more than {max} nodes (anchors and aliases)",
    "invalid_config": "the config must be a mapping, got {actual}",
    "skip_import": "skipping import {source}, condition does not match: {condition}",
    "unknown_import": "import not found: {source}",
    "invalid_import": "the imported config {source} is not a valid mapping",
    "import_failed": "import {source} failed: {error}",
    "import_not_resolved": "imports are not resolved here, ignoring {source}",
    "too_many_imports": "too many imports, the maximum is {max}",
    "internal_error": "internal error",
    "conditions_unavailable": "conditions are not available, not evaluating: {condition}",
    "skip_ci": "the commit message contains {marker}",
    "skip_branch": 'branch "{branch}" is not in the branches safelist',
    "skip_root": "the root condition does not match: {condition}",
}


def _format(code: str, args: dict[str, Any]) -> str:
    template = TEXTS.get(code)
    if template is None:
        return code
    try:
        return template.format(**args)
    except (KeyError, IndexError, ValueError):
        # A missing argument must never turn a message into a crash.
        return f"{code} {args}"


@dataclass
class Message:
    """One finding: `[level] on key: text`."""

    level: str
    key: str
    code: str
    text: str = ""
    line: int | None = None
    args: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.text:
            self.text = _format(self.code, {"line": self.line, **self.args})

    def __str__(self) -> str:
        return f"[{self.level}] on {self.key}: {self.text}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "level": self.level,
            "key": self.key,
            "code": self.code,
            "text": self.text,
        }
        if self.line is not None:
            data["line"] = self.line
        if self.args:
            data["args"] = self.args
        return data


class Messages:
    """An ordered collection of messages that knows the line of each key path."""

    def __init__(self, lines: dict[str, int] | None = None) -> None:
        self.items: list[Message] = []
        self.lines: dict[str, int] = lines or {}
        # Message keys name sections ("jobs.include"); lines need the entry ("jobs.include.2").
        self._entry: tuple[str, str] | None = None

    @contextmanager
    def entry(self, section: str, index: int) -> Iterator[None]:
        """Within this block, line lookups for `section...` use its entry number `index`."""
        previous = self._entry
        self._entry = (section, f"{section}.{index}")
        try:
            yield
        finally:
            self._entry = previous

    def add(
        self, level: str, key: str, code: str, /, line: int | None = None, **args: Any
    ) -> Message:
        if line is None:
            line = self.line_of(key)
        message = Message(level, key or "root", code, line=line, args=args)
        self.items.append(message)
        return message

    def line_of(self, key: str) -> int | None:
        """Line of the deepest known path prefix of `key` (dotted, may contain indexes)."""
        if self._entry and (key == self._entry[0] or key.startswith(self._entry[0] + ".")):
            key = self._entry[1] + key[len(self._entry[0]) :]
        parts = key.split(".") if key and key != "root" else []
        while parts:
            found = self.lines.get(".".join(parts))
            if found is not None:
                return found
            parts.pop()
        return None

    def has_errors(self) -> bool:
        return any(m.level == "error" for m in self.items)
