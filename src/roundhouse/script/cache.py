"""`cache:` — directories fetched before before_install and stored after before_cache.

The worker moves archives to and from the platform's cache store; the script only copies.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from roundhouse.script.languages import canonical, version_env
from roundhouse.script.phases import render_phase
from roundhouse.script.shell import echo, fold, quote

# Directories each named strategy caches (Travis's choices, travis-internals.md 4.8).
STRATEGIES: dict[str, tuple[str, ...]] = {
    "pip": ("$HOME/.cache/pip",),
    "npm": ("$HOME/.npm",),
    "yarn": ("$HOME/.cache/yarn",),
    "cargo": ("$HOME/.cargo/registry", "$HOME/.cargo/git", "target"),
    "bundler": ("vendor/bundle",),
    "ccache": ("$HOME/.ccache",),
}


def _settings(config: dict[str, Any]) -> dict[str, Any]:
    """`cache:` in any of its forms as a mapping; npm caching is on by default for node."""
    value = config.get("cache")
    if value is False or value == "false":
        return {}
    settings: dict[str, Any] = {}
    if canonical(config) == "node_js":
        settings["npm"] = True
    if isinstance(value, str):
        settings[value] = True
    elif isinstance(value, list):
        settings.update({str(v): True for v in value if isinstance(v, str)})
        for item in value:
            if isinstance(item, dict):
                settings.update(item)
    elif isinstance(value, dict):
        settings.update(value)
    return settings


def directories(config: dict[str, Any]) -> list[str]:
    """The cached directories as shell text (relative ones are in the build directory)."""
    settings = _settings(config)
    found: list[str] = []
    for name, dirs in STRATEGIES.items():
        if settings.get(name) not in (None, False, "false"):
            found += dirs
    extra = settings.get("directories") or []
    found += [str(d) for d in (extra if isinstance(extra, list) else [extra])]
    return list(dict.fromkeys(found))


def name(config: dict[str, Any]) -> str:
    """The archive a job uses, named as Travis does: one per os, dist, env and runtime versions,
    e.g. `cache-linux-focal-<hash of env>--python-3.11`.

    Jobs of one build that differ in any of these get separate caches, so a Python 3.8 job
    never restores what a 3.12 job built. Safe as one URL path segment and as a file name.
    """
    env = json.dumps(config.get("env") or [], sort_keys=True)
    runtimes = [
        f"{key.removeprefix('TRAVIS_').removesuffix('_VERSION').lower()}-{value}"
        for key, value in sorted(version_env(config).items())
    ] or [canonical(config)]
    os_name, dist = config.get("os") or "linux", config.get("dist") or "default"
    text = f"cache-{os_name}-{dist}-{hashlib.sha256(env.encode()).hexdigest()[:16]}"
    text += "".join(f"--{runtime}" for runtime in runtimes)
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:200]


def _call(function: str, dirs: list[str]) -> str:
    return function + " " + " ".join(quote(d) for d in dirs)


def render_fetch(config: dict[str, Any]) -> list[str]:
    """The set-up fold, before before_install."""
    dirs = directories(config)
    if not dirs:
        return []
    return [
        fold("start", "cache.1"),
        echo("Setting up build cache"),
        _call("_rh_cache_fetch", dirs),
        fold("end", "cache.1"),
    ]


def render_store(config: dict[str, Any]) -> list[str]:
    """before_cache, then the store fold, after script."""
    dirs = directories(config)
    if not dirs:
        return []
    return [
        *render_phase("before_cache", config),
        fold("start", "cache.2"),
        echo("store build cache"),
        _call("_rh_cache_store", dirs),
        fold("end", "cache.2"),
    ]
