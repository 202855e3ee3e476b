"""The legacy v0 conditions language (`conditions: v0`): parser and evaluator.

v0 only compares known keys or env(NAME) to literal strings; it has no casting and no concat.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .conditions_common import ConditionError, Node, quote, same, truthy
from .conditions_env import normalize_env, strip_quotes
from .conditions_regex import compile_ruby

_SPACE = re.compile(r"\s*")
_ENV_CALL = re.compile(r"(?:env|ENV)\s*\(\s*([\w-]+)\s*\)")
_VALUE = re.compile(r"[^\s\"'(),]+")
_BARE_REGEX = re.compile(r"\S+")
_PRESENCE = re.compile(r"present|PRESENT|blank|BLANK")
_CMP = {"=~": "match", "!~": "not_match", "=": "eq", "!=": "not_eq"}


def parse_v0(expr: str, keys: tuple[str, ...]) -> Node:
    """Parse a v0 condition; `keys` are the names usable on the left of a comparison."""
    parser = _Parser(expr.strip(), keys)
    tree = parser.disjunction()
    if tree is None or parser.pos != len(parser.src):
        raise ConditionError(f"Could not parse {quote(expr)} (conditions: v0)")
    return tree


def evaluate_v0(tree: Node, data: Mapping[str, Any]) -> bool:
    """True when a v0 tree holds for `data`; values are compared as plain strings."""
    return truthy(_Evaluator(data).value(tree))


class _Parser:
    """Ordered-choice parser: each rule restores the position when it does not match."""

    def __init__(self, src: str, keys: tuple[str, ...]) -> None:
        self.src = src
        self.pos = 0
        # Longest names first so that a key which prefixes another cannot shadow it.
        names = sorted({k for key in keys for k in (key, key.upper())}, key=len, reverse=True)
        self.keys = re.compile("|".join(re.escape(name) for name in names)) if names else None

    def space(self) -> None:
        match = _SPACE.match(self.src, self.pos)
        self.pos = match.end() if match else self.pos

    def word(self, *options: str) -> str | None:
        """Consume one of `options` (each also accepted in upper case) after optional space."""
        self.space()
        for option in options:
            for spelling in (option, option.upper()):
                if self.src.startswith(spelling, self.pos):
                    self.pos += len(spelling)
                    return option
        return None

    def regex(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        self.space()
        match = pattern.match(self.src, self.pos)
        if match:
            self.pos = match.end()
        return match

    def attempt(self, rule: Callable[[], Any]) -> Any:
        start = self.pos
        result = rule()
        if result is None:
            self.pos = start
        return result

    def disjunction(self) -> Node | None:
        left = self.attempt(self.conjunction)
        if left is None:
            return None
        return self.attempt(lambda: self.binary("or", left, self.disjunction)) or left

    def conjunction(self) -> Node | None:
        left = self.attempt(self.inner)
        if left is None:
            return None
        return self.attempt(lambda: self.binary("and", left, self.conjunction)) or left

    def binary(self, op: str, left: Node, right_rule: Callable[[], Node | None]) -> Node | None:
        if self.word(op) is None:
            return None
        self.space()
        right = right_rule()
        return None if right is None else (op, left, right)

    def inner(self) -> Node | None:
        negated = self.attempt(self.negation)
        return negated if negated is not None else self.attempt(self.simple)

    def negation(self) -> Node | None:
        if self.word("not") is None or not self.src[self.pos : self.pos + 1].isspace():
            return None
        self.space()
        node = self.attempt(self.simple)
        return None if node is None else ("not", node)

    def simple(self) -> Node | None:
        for rule in (self.group, self.inclusion, self.presence, self.comparison):
            node = self.attempt(rule)
            if node is not None:
                return node
        return None

    def group(self) -> Node | None:
        if self.word("(") is None:
            return None
        self.space()
        node = self.disjunction()
        return node if node is not None and self.word(")") else None

    def inclusion(self) -> Node | None:
        left = self.lhs()
        if left is None or self.word("in") is None or self.word("(") is None:
            return None
        items = [self.value()]
        while items[-1] is not None and self.word(","):
            items.append(self.value())
        if None in items or self.word(")") is None:
            return None
        return ("in", left, tuple(items))

    def presence(self) -> Node | None:
        left = self.lhs()
        if left is None or self.word("is") is None:
            return None
        match = self.regex(_PRESENCE)
        return None if match is None else ("is", left, match.group(0).lower())

    def comparison(self) -> Node | None:
        left = self.lhs()
        op = None if left is None else self.word("=~", "!~", "=", "!=")
        if op is None:
            return None
        right = self.pattern() if op in ("=~", "!~") else self.value()
        return None if right is None else (_CMP[op], left, right)

    def lhs(self) -> Any:
        call = self.regex(_ENV_CALL)
        if call:
            return ("env", call.group(1))
        if self.keys is None:
            return None
        key = self.regex(self.keys)
        return key.group(0) if key else None

    def value(self) -> str | None:
        self.space()
        char = self.src[self.pos : self.pos + 1]
        if char in ("'", '"'):
            return self.quoted(char)
        match = self.regex(_VALUE)
        return match.group(0) if match else None

    def pattern(self) -> str | None:
        self.space()
        if self.src.startswith("/", self.pos):
            return self.quoted("/")
        match = self.regex(_BARE_REGEX)
        return match.group(0) if match else None

    def quoted(self, mark: str) -> str | None:
        end = self.src.find(mark, self.pos + 1)
        if end < 0:
            return None
        text = self.src[self.pos + 1 : end]
        self.pos = end + 1
        return text


class _Evaluator:
    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.env = normalize_env(data.get("env"))

    def value(self, node: Any) -> Any:
        if not isinstance(node, tuple):
            return self.data.get(node)
        kind, *args = node
        if kind == "env":
            return strip_quotes(self.env.get(args[0]))
        handlers: dict[str, Callable[..., Any]] = {
            "or": lambda a, b: truthy(self.value(a)) or truthy(self.value(b)),
            "and": lambda a, b: truthy(self.value(a)) and truthy(self.value(b)),
            "not": lambda a: not truthy(self.value(a)),
            "eq": lambda a, b: same(self.value(a), b),
            "not_eq": lambda a, b: not same(self.value(a), b),
            "match": self.match,
            "not_match": lambda a, b: not self.match(a, b),
            "in": lambda a, items: any(same(self.value(a), item) for item in items),
            "is": lambda a, pred: self.present(self.value(a)) == (pred == "present"),
        }
        if kind not in handlers:
            raise ConditionError(f"unknown v0 node {kind!r}")
        return handlers[kind](*args)

    def match(self, left: Any, pattern: str) -> bool:
        regex = compile_ruby(pattern)
        subject = self.value(left)
        return isinstance(subject, str) and regex.search(subject) is not None

    @staticmethod
    def present(value: Any) -> bool:
        # v0 only knows emptiness of strings and collections; anything else is not present.
        return isinstance(value, (str, list, dict, tuple)) and len(value) > 0
