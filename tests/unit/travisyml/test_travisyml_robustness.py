"""`build_matrix` never raises: random configs built from known keys and odd values."""

from __future__ import annotations

import random
from typing import Any

import yaml

from roundhouse.travisyml import build_matrix

KEYS = [
    "language", "os", "dist", "arch", "env", "python", "rvm", "node_js", "jdk", "script",
    "install", "jobs", "matrix", "stages", "include", "exclude", "allow_failures", "cache",
    "git", "branches", "notifications", "deploy", "services", "addons", "if", "sudo", "import",
    "global", "only", "except", "email", "slack", "provider", "on", "name", "stage", "secure",
    "fast_finish", "matrix", "Language", "pyhton", "before-script", "conditions",
]  # fmt: skip
SCALARS: list[Any] = [None, True, False, 0, 7, "", "x", "3.10", "A=1 B=2", "= kaput", "osx"]


def value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.45:
        return rng.choice(SCALARS)
    if roll < 0.7:
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(KEYS): value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def test_random_configs_never_raise() -> None:
    rng = random.Random(20240601)
    for _ in range(400):
        config = {rng.choice(KEYS): value(rng, 0) for _ in range(rng.randint(0, 6))}
        text = yaml.safe_dump(config)
        request = {"branch": rng.choice(["main", None, "gh-pages"]), "env": value(rng, 2)}
        result = build_matrix(text, request)
        codes = [m.code for m in result.messages]
        assert "internal_error" not in codes, (text, result.messages)
        result.to_json()
