"""Repairing misspelt keys and values: case and dash cleanup, then nearest known name.

Used for `pyhton` → `python`, `before-script` → `before_script`, `ruby!` → `ruby`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def distance(a: str, b: str) -> int:
    """Levenshtein distance (insert, delete, substitute cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost))
        previous = current
    return previous[-1]


def underscore(key: str) -> str:
    """`beforeScript`, `Before-Script` and `before script` all become `before_script`."""
    text = _CAMEL.sub(r"_\1", key.strip())
    return re.sub(r"[-\s]+", "_", text).lower()


def clean(value: str) -> str:
    """Drop characters no Travis name contains (`ruby!`, ``ruby` ``, `node_js - 9`)."""
    head = value.strip().split(" ")[0]
    return re.sub(r"[^a-z0-9_.\-+#]", "", head.lower())


def nearest(word: str, known: Iterable[str]) -> str | None:
    """The unique closest known name within a distance that grows with the word's length."""
    if len(word) < 3:
        return None
    limit = 1 if len(word) <= 4 else 2
    best: list[str] = []
    best_distance = limit + 1
    for candidate in known:
        if abs(len(candidate) - len(word)) > limit:
            continue
        d = distance(word, candidate)
        if d < best_distance:
            best, best_distance = [candidate], d
        elif d == best_distance:
            best.append(candidate)
    return best[0] if len(best) == 1 else None
