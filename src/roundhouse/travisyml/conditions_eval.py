"""Evaluates v1 condition trees against request data, with Travis's value semantics.

Every value is cast (text "true"/"false" becomes a boolean) and Ruby truthiness decides.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .conditions_common import ConditionError, Node, cast, present, ruby_str, same, truthy
from .conditions_env import normalize_env, strip_quotes
from .conditions_regex import compile_ruby


def evaluate_v1(tree: Node, data: Mapping[str, Any]) -> bool:
    """True when the tree holds for `data` (request attributes plus `env`)."""
    return truthy(_Evaluator(data).value(tree))


def literal_patterns(tree: Any) -> Iterator[str]:
    """Every regex written literally in a tree, so validation can check them all up front."""
    if not isinstance(tree, tuple) or not tree:
        return
    if tree[0] == "reg" and isinstance(tree[1], str):
        yield tree[1]
        return
    for child in tree[1:]:
        yield from literal_patterns(child)


_PREDICATES: dict[str, Callable[[Any], bool]] = {
    "present": present,
    "blank": lambda value: not present(value),
    "true": truthy,
    "false": lambda value: not truthy(value),
}


class _Evaluator:
    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.env = normalize_env(data.get("env"))

    def value(self, node: Node) -> Any:
        handler = getattr(self, "_" + node[0], None)
        if handler is None:
            raise ConditionError(f"unknown node {node[0]!r}")
        return cast(handler(*node[1:]))

    def _or(self, left: Node, right: Node) -> bool:
        return truthy(self.value(left)) or truthy(self.value(right))

    def _and(self, left: Node, right: Node) -> bool:
        return truthy(self.value(left)) and truthy(self.value(right))

    def _not(self, operand: Node) -> bool:
        return not truthy(self.value(operand))

    def _eq(self, left: Node, right: Node) -> bool:
        return same(self.value(left), self.value(right))

    def _not_eq(self, left: Node, right: Node) -> bool:
        return not self._eq(left, right)

    def _match(self, left: Node, right: Node) -> bool:
        subject = self.value(left)
        # The pattern is always compiled, so an invalid regex is reported even for nil data.
        pattern = self._pattern(right)
        if pattern is None or not isinstance(subject, str):
            return False
        return pattern.search(subject) is not None

    def _not_match(self, left: Node, right: Node) -> bool:
        return not self._match(left, right)

    def _pattern(self, reg: Node) -> re.Pattern[str] | None:
        source = reg[1]
        value = self.value(source) if isinstance(source, tuple) else cast(source)
        return None if value is None else compile_ruby(ruby_str(value))

    def _in(self, left: Node, items: tuple[Node, ...]) -> bool:
        values = [self.value(item) for item in items]
        subject = self.value(left)
        return any(same(subject, value) for value in values)

    def _not_in(self, left: Node, items: tuple[Node, ...]) -> bool:
        return not self._in(left, items)

    def _is(self, left: Node, predicate: str) -> bool:
        return _PREDICATES[predicate](self.value(left))

    def _is_not(self, left: Node, predicate: str) -> bool:
        return not self._is(left, predicate)

    def _var(self, name: str) -> Any:
        return self.data.get(name)

    def _val(self, text: str) -> Any:
        return text

    def _call(self, name: str, args: tuple[Node, ...]) -> Any:
        values = [self.value(arg) for arg in args]
        if name == "concat":
            return "".join(ruby_str(value) for value in values)
        return self._env(values)

    def _env(self, args: list[Any]) -> Any:
        if not args:
            return None
        if len(args) > 1:
            raise ConditionError(f"env() takes one name, {len(args)} given")
        if args[0] is None:
            return None
        return strip_quotes(self.env.get(ruby_str(args[0])))
