"""Matrix expansion (Travis's rows): expand keys, include, shared keys, env, exclude, if.

Input is a normalised root config; output is one Row per job, in Travis's order.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

from . import keys as K
from .env import EnvVar
from .filters import Conditions

# Beyond this many expanded rows we stop before building them (each costs memory).
MAX_EXPANDED = 10_000


@dataclass
class Row:
    """One job: its config without env, its own env vars, and the global vars."""

    config: dict[str, Any]
    env: list[EnvVar] = field(default_factory=list)
    global_env: list[EnvVar] = field(default_factory=list)
    # False for an include entry without `env`: it gets the first env.jobs entry.
    has_env: bool = True

    def full_env(self) -> list[EnvVar]:
        """Global vars first, then the job's own, without exact repeats."""
        out: list[EnvVar] = []
        for var in [*self.global_env, *self.env]:
            if var not in out:
                out.append(var)
        return out

    def travis_config(self) -> dict[str, Any]:
        config = dict(self.config)
        env = self.full_env()
        if env:
            config["env"] = env
        return config


class TooManyJobs(Exception):
    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


def supported(key: str, language: Any) -> bool:
    """Whether a language-specific key applies to `language` (unset: everything does)."""
    if key not in K.LANGUAGE_SPECIFIC or not isinstance(language, str):
        return True
    allowed = K.LANGUAGE_KEYS.get(language)
    return allowed is None or key in allowed


def supported_on_os(key: str, os_name: Any) -> bool:
    if not isinstance(os_name, str):
        return True
    only = K.OS_ONLY.get(key)
    if only is not None and os_name not in only:
        return False
    return os_name not in K.OS_EXCEPT.get(key, frozenset())


def _expand_keys(config: dict[str, Any]) -> list[str]:
    language = config.get("language")
    return [k for k in K.EXPAND_KEYS if isinstance(config.get(k), list) and supported(k, language)]


def expand(config: dict[str, Any]) -> tuple[list[Row], bool]:
    """The Cartesian product of expansion keys; second value: every key had one value."""
    names = _expand_keys(config)
    env_jobs: list[list[EnvVar]] = (config.get("env") or {}).get("jobs") or []
    axes: list[list[Any]] = [config[k] for k in names]
    size = math.prod(len(a) for a in axes) * max(1, len(env_jobs))
    if size > MAX_EXPANDED:
        raise TooManyJobs(size)
    single = all(len(a) == 1 for a in axes) and len(env_jobs) <= 1
    rows: list[Row] = []
    for combo in itertools.product(*axes):
        base = dict(zip(names, combo, strict=True))
        for env in env_jobs or [[]]:
            rows.append(Row(dict(base), list(env)))
    return rows, single


def include_rows(config: dict[str, Any]) -> list[Row]:
    """`jobs.include` entries as rows; an entry without `stage` takes the previous one's."""
    rows: list[Row] = []
    stage: Any = None
    for entry in (config.get("jobs") or {}).get("include") or []:
        entry = dict(entry)
        if entry.get("stage"):
            stage = entry["stage"]
        elif stage is not None:
            entry["stage"] = stage
        env = entry.pop("env", None)
        rows.append(Row(entry, list(env) if env else [], has_env=env is not None))
    return rows


def merge_shared(row: Row, config: dict[str, Any], first_env: list[EnvVar]) -> None:
    """Root values under the job's own: shared keys, first value of each expansion key."""
    for key, value in config.items():
        if key in K.NOT_SHARED or key in row.config:
            continue
        if key in K.EXPAND_KEYS and isinstance(value, list):
            if value:
                row.config[key] = value[0]
        elif value is not None:
            row.config[key] = value
    # Legacy: a job that names no env gets the first env.jobs entry.
    if not row.has_env:
        row.env = list(first_env)
    env = config.get("env") or {}
    row.global_env = list(env.get("global") or [])


def drop_unsupported(row: Row) -> None:
    """Remove keys that do not apply to the job's language or os (validation warned)."""
    language = row.config.get("language")
    os_name = row.config.get("os")
    for key in list(row.config):
        if not supported(key, language) or not supported_on_os(key, os_name):
            del row.config[key]


def uniq(rows: list[Row]) -> list[Row]:
    seen: list[dict[str, Any]] = []
    out: list[Row] = []
    for row in rows:
        key = row.travis_config()
        if key in seen:
            continue
        seen.append(key)
        out.append(row)
    return out


def rows(config: dict[str, Any], conditions: Conditions) -> list[Row]:
    """All jobs of the build before stages and allow_failures (Travis's `matrix.rows`)."""
    expanded, single = expand(config)
    included = include_rows(config)
    if included and len(expanded) == 1 and single:
        # The one implicit job would only repeat what the includes already say.
        expanded = []
    result = expanded + included
    if not result:
        result = [Row({})]
    env_jobs = (config.get("env") or {}).get("jobs") or []
    first_env = env_jobs[0] if env_jobs else []
    for row in result:
        merge_shared(row, config, first_env)
    result = conditions.apply_exclude(result, (config.get("jobs") or {}).get("exclude") or [])
    for row in result:
        drop_unsupported(row)
    result = uniq(result)
    return conditions.filter_jobs(result)
