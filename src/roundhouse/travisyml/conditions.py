"""Travis's `if:` conditions language (v1, and legacy v0): parse, evaluate and validate.

Pure functions without I/O; parsed trees are cached because every job of every build asks.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from .conditions_common import VARS, ConditionError, Node
from .conditions_eval import evaluate_v1, literal_patterns
from .conditions_regex import compile_ruby
from .conditions_v0 import evaluate_v0, parse_v0
from .conditions_v1 import parse_v1

__all__ = ["VERSIONS", "ConditionError", "Node", "evaluate", "parse", "validate"]

VERSIONS = ("v1", "v0")

# travis-yml validates a condition by evaluating it with every keyword nil.
_NIL_DATA: dict[str, Any] = {name: None for name in (*VARS, "env")}


def parse(expr: str, version: str = "v1", *, keys: Iterable[str] | None = None) -> Node:
    """Parse `expr` into a tree of tuples, e.g. ("eq", ("var", "branch"), ("val", "x")).

    `keys` only matters for v0, whose parser must be told which names are variables; it
    defaults to the request attributes Travis knows.
    """
    if version != "v0":
        return _tree(expr, version, ())
    return _tree(expr, version, tuple(VARS if keys is None else sorted(keys)))


def evaluate(expr: str, data: Mapping[str, Any], version: str = "v1") -> bool:
    """Whether `expr` holds for the request `data`; raises ConditionError when it cannot tell."""
    if version == "v0":
        keys = tuple(sorted({*VARS, *(str(key) for key in data)}))
        return evaluate_v0(_tree(expr, version, keys), data)
    return evaluate_v1(_tree(expr, version, ()), data)


def validate(expr: str, version: str = "v1") -> str | None:
    """None if `expr` is a usable condition, otherwise the message explaining why not."""
    try:
        tree = parse(expr, version)
        if version == "v1":
            # Checking every literal regex also catches ones a short-circuit would skip.
            for pattern in literal_patterns(tree):
                compile_ruby(pattern)
        evaluate(expr, _NIL_DATA, version)
    except ConditionError as exc:
        return str(exc)
    return None


def _tree(expr: str, version: str, keys: tuple[str, ...]) -> Node:
    # Checked before the cache, which could not hash a list or a mapping.
    if not isinstance(expr, str):
        raise ConditionError(f"Invalid condition: {expr!r} (a string is required)")
    return _parse_cached(expr, version, keys)


@functools.lru_cache(maxsize=4096)
def _parse_cached(expr: str, version: str, keys: tuple[str, ...]) -> Node:
    try:
        if version == "v1":
            return parse_v1(expr)
        if version == "v0":
            return parse_v0(expr, keys)
    except RecursionError:
        raise ConditionError("condition is nested too deeply") from None
    raise ConditionError(f"unknown conditions version {version!r} (use v1 or v0)")
