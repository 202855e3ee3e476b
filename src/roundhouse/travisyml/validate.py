"""Validation before normalisation: key repair (typos, case), unknown keys, casts, conditions.

Runs on the raw loaded mapping and returns a repaired copy; findings become messages.
"""

from __future__ import annotations

from typing import Any

from . import keys as K
from . import spelling
from .messages import Messages

_TRUE = {"true", "yes", "on", "enabled", "required", "1"}
_FALSE = {"false", "no", "off", "disabled", "not required", "0"}

JOB_KEYS: frozenset[str] = frozenset(
    {
        "language", "os", "dist", "arch", "sudo", "env", "compiler", "osx_image", "vm",
        "keep_netrc", "vault", "virt", "addons", "branches", "cache", "deploy", "git", "if",
        "services", "group", "workspaces", "keys", "stack", "filter_secrets", "trace",
        *K.PHASES, *K.EXPAND_KEYS, *K.LANGUAGE_SPECIFIC, *K.JOB_ALIASES,
    }
)  # fmt: skip
ROOT_KNOWN: frozenset[str] = (
    JOB_KEYS | K.ROOT_KEYS | set(K.ROOT_ALIASES) | set(K.MISPLACED_JOBS_KEYS) | {"merge_mode"}
)
ENTRY_KNOWN: frozenset[str] = JOB_KEYS | K.JOB_ONLY_KEYS
JOBS_KNOWN: frozenset[str] = frozenset(
    {"include", "exclude", "allow_failures", "fast_finish", *K.JOBS_ALIASES}
)
CACHE_FLAGS = ("apt", "bundler", "cargo", "ccache", "cocoapods", "npm", "packages", "pip", "yarn")
CACHE_KNOWN = frozenset({*CACHE_FLAGS, "directories", "timeout", "edge", "branch"})
GIT_TYPES: dict[str, str] = {
    "quiet": "bool", "depth": "num_or_bool", "submodules": "bool", "submodules_depth": "num",
    "strategy": "enum:clone,tarball", "autocrlf": "autocrlf", "symlinks": "bool",
    "lfs_skip_smudge": "bool", "sparse_checkout": "str", "clone": "bool",
}  # fmt: skip
ROOT_TYPES: dict[str, str] = {
    "sudo": "bool", "filter_secrets": "bool", "trace": "bool", "keep_netrc": "bool",
    "group": "str",
}  # fmt: skip


def validate(config: dict[str, Any], msgs: Messages) -> dict[str, Any]:
    """A repaired copy of the raw root mapping."""
    config = fix_keys(config, ROOT_KNOWN, "", msgs)
    if "sudo" in config:
        msgs.add("warn", "root", "deprecated_key", key="sudo",
                 info="The key `sudo` has no effect anymore.")  # fmt: skip
    for key, kind in ROOT_TYPES.items():
        if key in config:
            config[key] = cast(config[key], kind, key, msgs)
    if isinstance(config.get("git"), dict):
        config["git"] = validate_git(config["git"], "git", msgs)
    elif config.get("git") is not None:
        _invalid(config["git"], "map", "git", msgs)
    if config.get("cache") is not None:
        config["cache"] = validate_cache(config["cache"], msgs)
    if "branches" in config:
        config["branches"] = validate_branches(config["branches"], msgs)
    jobs_key = "jobs" if "jobs" in config else "matrix"
    if isinstance(config.get(jobs_key), dict):
        config[jobs_key] = validate_jobs(config[jobs_key], jobs_key, msgs)
    return config


def fix_keys(
    data: dict[str, Any], known: frozenset[str], path: str, msgs: Messages
) -> dict[str, Any]:
    """Known keys as they are; misspelt ones repaired (with a message); unknown ones warned."""
    out: dict[str, Any] = {}
    where = path or "root"
    for key, value in data.items():
        if key in (".result", ".configured") or key.strip('"') in (".result", ".configured"):
            continue
        if key.startswith("_"):
            out[key] = value  # a private key, the place for YAML anchors: kept as it is
            continue
        fixed = key if key in known else _repair(key, known, where, msgs, _line(msgs, path, key))
        if fixed is None:
            msgs.add("warn", where, "unknown_key", line=_line(msgs, path, key), key=key,
                     value=value)  # fmt: skip
            fixed = key
        if fixed in out and fixed != key:
            continue
        out[fixed] = value
    return out


def _repair(
    key: str, known: frozenset[str], where: str, msgs: Messages, line: int | None
) -> str | None:
    under = spelling.underscore(key)
    if under in known:
        msgs.add("info", where, "underscore_key", line=line, original=key, key=under)
        return under
    near = spelling.nearest(under, known)
    if near is not None:
        msgs.add("warn", where, "find_key", line=line, original=key, key=near)
    return near


def _line(msgs: Messages, path: str, key: str) -> int | None:
    return msgs.line_of(f"{path}.{key}" if path else key)


def cast(value: Any, kind: str, path: str, msgs: Messages) -> Any:
    """Cast a scalar the way Travis does; a value of the wrong type is reported and kept."""
    if kind == "str":
        return _text(value) if not isinstance(value, (dict, list)) else value
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        return _invalid(value, "bool", path, msgs)
    if kind in ("num", "num_or_bool"):
        if isinstance(value, bool) and kind == "num_or_bool":
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return _invalid(value, "num", path, msgs)
    if kind == "autocrlf":
        if isinstance(value, bool) or value == "input":
            return value
        return _unknown_value(value, path, msgs)
    if kind.startswith("enum:"):
        if _text(value) in kind[5:].split(","):
            return _text(value)
        return _unknown_value(value, path, msgs)
    return value


def _invalid(value: Any, expected: str, path: str, msgs: Messages) -> Any:
    msgs.add("error", path, "invalid_type", expected=expected, actual=type_name(value),
             value=value)  # fmt: skip
    return value


def _unknown_value(value: Any, path: str, msgs: Messages) -> Any:
    msgs.add("error", path, "unknown_value", value=value)
    return value


def validate_git(git: dict[str, Any], path: str, msgs: Messages) -> dict[str, Any]:
    git = fix_keys(git, frozenset(GIT_TYPES), path, msgs)
    for key, kind in GIT_TYPES.items():
        if key in git:
            git[key] = cast(git[key], kind, f"{path}.{key}", msgs)
    return git


def validate_cache(cache: Any, msgs: Messages) -> Any:
    """`cache:` as a map: names become flags, other strings become directories."""
    if isinstance(cache, bool):
        if cache:
            msgs.add("error", "cache", "unknown_value", value=True)
        return cache
    items = cache if isinstance(cache, list) else [cache]
    out: dict[str, Any] = {}
    directories: list[Any] = []
    for item in _flatten(items):
        if isinstance(item, dict):
            item = fix_keys(item, CACHE_KNOWN, "cache", msgs)
            for key, value in item.items():
                if key == "directories":
                    directories.extend(_strings(value, "cache.directories", msgs))
                elif key in (*CACHE_FLAGS, "edge") and isinstance(value, (bool, str)):
                    out[key] = cast(value, "bool", f"cache.{key}", msgs)
                else:
                    out[key] = value
        elif isinstance(item, str) and item in CACHE_FLAGS:
            out[item] = True
        elif isinstance(item, str) and spelling.clean(item) in CACHE_FLAGS:
            msgs.add("info", "cache", "find_value", original=item, value=spelling.clean(item))
            out[spelling.clean(item)] = True
        elif item is not None:
            directories.append(_text(item))
    if directories:
        out["directories"] = directories
    return out


def validate_branches(value: Any, msgs: Messages) -> Any:
    """`branches:` as {only: [...], except: [...]}."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        msgs.add("warn", "branches", "unexpected_seq", value=value[0])
        value = value[0]
    if not isinstance(value, dict):
        return {"only": [_text(v) for v in _flatten([value]) if v is not None]}
    value = fix_keys(value, frozenset({"only", "except", "exclude"}), "branches", msgs)
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "exclude":
            msgs.add("info", "branches", "alias_key", alias="exclude", key="except")
            key = "except"
        if key in ("only", "except"):
            out[key] = _strings(item, f"branches.{key}", msgs)
        else:
            out[key] = item
    return out


def validate_jobs(jobs: dict[str, Any], path: str, msgs: Messages) -> dict[str, Any]:
    if jobs and not set(jobs) & JOBS_KNOWN and set(jobs) & ENTRY_KNOWN:
        # A job given directly under `jobs:` is one include entry.
        jobs = {"include": [jobs]}
    jobs = fix_keys(jobs, JOBS_KNOWN, "jobs", msgs)
    for section in ("include", "exclude", "allow_failures"):
        entries = jobs.get(section)
        if isinstance(entries, dict):
            entries = [entries]
        if isinstance(entries, list):
            # `branch` on allow_failures is deprecated (use `if`) but still honoured.
            known = ENTRY_KNOWN | {"branch"} if section == "allow_failures" else ENTRY_KNOWN
            jobs[section] = [_fix_entry(e, i, known, section, msgs) for i, e in enumerate(entries)]
            if section == "allow_failures" and any(
                isinstance(e, dict) and "branch" in e for e in jobs[section]
            ):
                msgs.add("warn", "jobs.allow_failures", "deprecated_key", key="branch",
                         info="use conditional allow_failures using :if")  # fmt: skip
    _report_duplicate_names(jobs.get("include"), msgs)
    return jobs


def _fix_entry(entry: Any, index: int, known: frozenset[str], section: str, msgs: Messages) -> Any:
    if not isinstance(entry, dict):
        return entry
    with msgs.entry(f"jobs.{section}", index):
        return fix_keys(entry, known, f"jobs.{section}", msgs)


def _report_duplicate_names(entries: Any, msgs: Messages) -> None:
    if not isinstance(entries, list):
        return
    seen: set[str] = set()
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else None
        if name is None:
            continue
        if str(name) in seen:
            msgs.add("info", "jobs.include", "duplicate", values=f"name: {name}")
        seen.add(str(name))


def _strings(value: Any, path: str, msgs: Messages) -> list[str]:
    out: list[str] = []
    for item in _flatten(value if isinstance(value, list) else [value]):
        if isinstance(item, dict):
            _invalid(item, "str", path, msgs)
        elif item is not None:
            out.append(_text(item))
    return out


def _flatten(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "seq"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "num"
    return "str"
