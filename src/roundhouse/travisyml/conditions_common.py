"""Shared pieces of the conditions language: the error type, node alias and value helpers.

The value helpers reproduce Ruby semantics (to_s, truthiness, ==) that Travis's evaluator relies on.
"""

from __future__ import annotations

from typing import Any

# Parse trees are nested tuples such as ("eq", ("var", "branch"), ("val", "master")); tuples
# keep cached trees immutable, so one cached tree can be shared by every evaluation.
Node = tuple[Any, ...]

# Request attributes a v1 condition can name. Travis's parser knows the first fifteen; `draft`
# and `arch` are data keys Roundhouse also exposes. Order matters: the first name that matches
# and is followed by a boundary wins, exactly like the reference alternation.
VARS = (
    "type",
    "repo",
    "head_repo",
    "os",
    "dist",
    "group",
    "sudo",
    "language",
    "sender",
    "fork",
    "branch",
    "head_branch",
    "tag",
    "commit_message",
    "draft",
    "arch",
)


class ConditionError(ValueError):
    """A condition could not be parsed or evaluated; the message says what and where."""


def ruby_str(value: Any) -> str:
    """Text of a value as Ruby's `to_s` gives it (nil is empty, booleans are lowercase)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cast(value: Any) -> Any:
    """Turn any value whose text is true/false (any case) into a boolean, as v1 does."""
    if isinstance(value, bool):
        return value
    text = ruby_str(value).lower()
    if text == "true":
        return True
    if text == "false":
        return False
    return value


def truthy(value: Any) -> bool:
    """Ruby truthiness: only nil and false are false ("" and 0 are true)."""
    return value is not None and value is not False


def same(left: Any, right: Any) -> bool:
    """Ruby `==` for condition values: unlike Python, true is not equal to 1."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    return bool(left == right)


def present(value: Any) -> bool:
    """`IS present`: non-empty for strings and collections, else plain truthiness."""
    if isinstance(value, (str, list, dict, tuple)):
        return len(value) > 0
    return truthy(value)


def quote(text: str) -> str:
    """Show an expression in an error message with its escapes visible."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
