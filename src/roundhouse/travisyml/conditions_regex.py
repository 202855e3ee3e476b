"""Compiles the Ruby (Onigmo) regexes written in conditions into equivalent Python patterns.

Covers what differs in practice: line anchors, ASCII classes, \\h, \\z, named groups, (?m).
"""

from __future__ import annotations

import functools
import re
import warnings

from .conditions_common import ConditionError

# Ruby's ^/$ always work per line and \d, \w, \s only match ASCII.
_FLAGS = re.M | re.ASCII

_POSIX_CLASSES = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r" \t\r\n\v\f",
    "blank": r" \t",
    "xdigit": "0-9a-fA-F",
    "word": r"\w",
    "punct": r"!-/:-@\[-`{-~",
    "cntrl": r"\x00-\x1f\x7f",
    "print": r"\x20-\x7e",
    "graph": r"\x21-\x7e",
}

# Escapes outside a character class that Python spells differently.
_ESCAPES = {
    "h": "[0-9a-fA-F]",
    "H": "[^0-9a-fA-F]",
    "z": r"\Z",
    "Z": r"(?=\n?\Z)",
    "e": r"\x1b",
    "R": r"(?:\r\n|[\n\v\f\r])",
}
_CLASS_ESCAPES = {"h": "0-9a-fA-F", "e": r"\x1b"}

_INLINE_FLAGS = re.compile(r"\(\?([imx]*(?:-[imx]*)?)([:)])")
_NAMED_GROUP = re.compile(r"\(\?<([A-Za-z_]\w*)>")
_BACKREF = re.compile(r"\\k<([A-Za-z_]\w*)>")
_POSIX = re.compile(r"\[:(\^?)([a-z]+):\]")


@functools.lru_cache(maxsize=2048)
def compile_ruby(pattern: str) -> re.Pattern[str]:
    """Compile a Ruby regex source; an invalid one raises ConditionError like Travis does."""
    try:
        with warnings.catch_warnings():
            # Nested-set warnings are about future Python versions, not about this pattern.
            warnings.simplefilter("ignore", FutureWarning)
            return re.compile(translate(pattern), _FLAGS)
    except (re.error, OverflowError, RecursionError) as exc:
        raise ConditionError(f"Invalid regular expression: /{pattern}/") from exc


def translate(pattern: str) -> str:
    """Rewrite Ruby-only syntax into Python syntax; everything else is copied unchanged."""
    return _Translator(pattern).run()


class _Translator:
    """One left-to-right pass that knows whether it is inside a character class."""

    def __init__(self, pattern: str) -> None:
        self.src = pattern
        self.pos = 0
        self.out: list[str] = []
        # Per open group: how many scoped-flag groups to close with it. Ruby's (?i) applies to
        # the rest of the enclosing group, which Python only accepts as a scoped (?i:...).
        self.closers = [0]

    def run(self) -> str:
        while self.pos < len(self.src):
            if self.src[self.pos] == "[":
                self._char_class()
            else:
                self._outside_class()
        self.out.append(")" * self.closers[0])
        return "".join(self.out)

    def _outside_class(self) -> None:
        src, pos = self.src, self.pos
        char = src[pos]
        if char == "\\":
            self._escape(_ESCAPES)
        elif char == "(":
            self._open_group()
        elif char == ")":
            extra = self.closers.pop() if len(self.closers) > 1 else 0
            self.out.append(")" * extra + ")")
            self.pos += 1
        else:
            self.out.append(char)
            self.pos += 1

    def _escape(self, table: dict[str, str]) -> None:
        backref = _BACKREF.match(self.src, self.pos)
        if backref and table is _ESCAPES:
            self.out.append(f"(?P={backref.group(1)})")
            self.pos = backref.end()
            return
        nxt = self.src[self.pos + 1 : self.pos + 2]
        self.out.append(table.get(nxt, "\\" + nxt))
        self.pos += 2

    def _open_group(self) -> None:
        named = _NAMED_GROUP.match(self.src, self.pos)
        flags = _INLINE_FLAGS.match(self.src, self.pos)
        if named:
            self.out.append(f"(?P<{named.group(1)}>")
            self.pos = named.end()
            self.closers.append(0)
        elif flags and flags.group(1):
            self._inline_flags(flags.group(1), flags.group(2))
            self.pos = flags.end()
        else:
            self.out.append("(")
            self.pos += 1
            self.closers.append(0)

    def _inline_flags(self, flags: str, end: str) -> None:
        # Ruby's m flag is Python's s (dot matches newline).
        self.out.append("(?" + flags.replace("m", "s") + ":")
        if end == ":":
            self.closers.append(0)
        else:
            self.closers[-1] += 1

    def _char_class(self) -> None:
        self.out.append("[")
        self.pos += 1
        if self.src.startswith("^", self.pos):
            self.out.append("^")
            self.pos += 1
        if self.src.startswith("]", self.pos):
            self.out.append(r"\]")
            self.pos += 1
        while self.pos < len(self.src) and self.src[self.pos] != "]":
            self._class_member()
        if self.pos < len(self.src):
            self.out.append("]")
            self.pos += 1

    def _class_member(self) -> None:
        posix = _POSIX.match(self.src, self.pos)
        if posix and posix.group(2) in _POSIX_CLASSES and not posix.group(1):
            self.out.append(_POSIX_CLASSES[posix.group(2)])
            self.pos = posix.end()
        elif self.src[self.pos] == "\\":
            self._escape(_CLASS_ESCAPES)
        elif self.src[self.pos] == "[":
            # Python would read a nested "[" as a literal; escaping keeps that meaning explicit.
            self.out.append(r"\[")
            self.pos += 1
        else:
            self.out.append(self.src[self.pos])
            self.pos += 1
