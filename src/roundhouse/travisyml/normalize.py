"""Normalisation of a loaded `.travis.yml` into the canonical shape the matrix expects.

Aliases resolved, scalars wrapped, env split into vars, misplaced keys moved; findings go to
Messages (see validate.py for unknown keys and typo suggestions).
"""

from __future__ import annotations

from typing import Any

from . import keys as K
from . import sections
from .addons import normalize_addons
from .deploy import normalize_deploy
from .env import EnvVar, scalar_text, vars_of
from .messages import Messages
from .notify_schema import normalize_notifications
from .validate import type_name, validate, validate_branches
from .values import check


def normalize(config: Any, msgs: Messages, *, defaults: bool = True) -> dict[str, Any] | None:
    """The canonical root config, or None (with an error) when it is not a mapping."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        msgs.add("error", "root", "invalid_config", actual=_type_name(config))
        return None
    root = _rename(validate(dict(config), msgs), K.ROOT_ALIASES, "", msgs)
    _migrate_jobs_keys(root, msgs)
    out: dict[str, Any] = {}
    for key, value in root.items():
        if key in (".result", ".configured"):
            continue
        if key == "env":
            if isinstance(value, (bool, int)):
                msgs.add("error", "env", "invalid_type", expected="map", actual=_type_name(value),
                         value=value)  # fmt: skip
                continue
            out["env"] = normalize_env(value, msgs)
        elif key == "jobs":
            jobs = normalize_jobs(value, msgs)
            if jobs is not None:
                out["jobs"] = jobs
        elif key == "stages":
            out["stages"] = normalize_stages(value, msgs)
        elif key == "deploy":
            out[key] = normalize_deploy(value, msgs)
        elif key == "notifications":
            notifications = normalize_notifications(value, msgs)
            if notifications is not None:
                out[key] = notifications
        elif key in ("os", "arch"):
            out[key] = [_enum(key, x, key, msgs) for x in _scalars(value, key, msgs)]
        elif key in K.VERSION_KEYS:
            out[key] = [_version(x) for x in _as_list(value) if x is not None]
        elif value is not None:  # Travis drops root keys given as null (`cache:`)
            result = normalize_job_value(key, value, key, msgs)
            if result is not None:
                out[key] = result
    for key in ("os", "arch", *K.VERSION_KEYS):
        # An empty list stays only when it is what is left after invalid values were dropped.
        if key in out and not out[key] and not _as_list(root.get(key)):
            del out[key]
    check(out, msgs)
    if defaults:
        apply_defaults(out, msgs)
    return out


def apply_defaults(config: dict[str, Any], msgs: Messages) -> None:
    """Fill a missing language and os like Travis does (dist is filled per job)."""
    if config.get("language") is None:
        language = "objective-c" if config.get("os") == ["osx"] else K.DEFAULT_LANGUAGE
        config["language"] = language
        msgs.add("info", "root", "default", key="language", default=language,
                 line=msgs.line_of("language"))  # fmt: skip
    if not config.get("os"):
        default_os = "osx" if config["language"] == "objective-c" else K.DEFAULT_OS
        config["os"] = [default_os]
        msgs.add("info", "root", "default", key="os", default=default_os)
    if "dist" not in config and K.DEFAULT_OS in config["os"]:
        config["dist"] = K.DEFAULT_DIST
        msgs.add("info", "root", "default", key="dist", default=K.DEFAULT_DIST)


def normalize_job_value(key: str, value: Any, path: str, msgs: Messages) -> Any:
    """One key of the root or of a job entry, in its canonical form."""
    if key in K.PHASES or key in K.SEQ_KEYS:
        return sections.commands(value, path, msgs)
    if key == "language":
        first = _first(value, path, msgs)
        if isinstance(first, (dict, list)):
            msgs.add("error", path, "invalid_type", expected="str", actual=type_name(first),
                     value=first)  # fmt: skip
            return None
        return _enum("language", first, path, msgs)
    if key in ("os", "arch"):
        return _enum(key, _first(value, path, msgs), path, msgs)
    if key == "dist":
        first = _first(value, path, msgs)
        return _lower(scalar_text(first), path, msgs) if first is not None else None
    if key in ENUMS:
        return _enum_value(key, _first(value, path, msgs), path, msgs)
    if key == "version" and isinstance(value, str) and not K.VERSION_FORMAT.match(value):
        msgs.add("error", path, "invalid_format", value=value, format=K.VERSION_FORMAT.pattern)
        return None
    if key in K.VERSION_KEYS:
        first = _first(value, path, msgs)
        return _text(first) if first is not None else None
    if key in ("if", "name", "stage"):
        return scalar_text(value) if value is not None else None
    if key == "addons":
        addons = normalize_addons(value, path, msgs)
        # Every addon dropped (a required key missing): the section goes too.
        return None if addons == {} and value else addons
    if key == "services":
        return sections.normalize_services(value, path, msgs)
    if key == "import":
        return sections.normalize_import(value)
    if key == "workspaces":
        return sections.normalize_workspaces(value)
    if key == "android":
        return sections.normalize_android(value)
    if key == "repos":
        return sections.normalize_map(value, path, msgs)
    return value


def normalize_entry(entry: Any, path: str, msgs: Messages) -> dict[str, Any] | None:
    """A `jobs.include` / `exclude` / `allow_failures` entry; non-mappings are dropped."""
    if not isinstance(entry, dict):
        msgs.add("error", path, "invalid_type", expected="map", actual=_type_name(entry),
                 value=entry)  # fmt: skip
        return None
    entry = _rename(dict(entry), K.JOB_ALIASES, path, msgs)
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if key == "env":
            found, invalid = vars_of(_typed_env(value, f"{path}.env", msgs))
            for var in invalid:
                msgs.add("error", f"{path}.env", "invalid_env_var", var=var)
            out["env"] = found
        elif key == "allow_failure":
            out[key] = value is True or scalar_text(value).lower() == "true"
        elif key == "branches":
            out[key] = validate_branches(value, msgs)
        else:
            out[key] = normalize_job_value(key, value, f"{path}.{key}", msgs)
    return out


def normalize_env(value: Any, msgs: Messages) -> dict[str, Any]:
    """Root env as {"global": [vars], "jobs": [[vars], ...]} (one inner list per job)."""
    if isinstance(value, dict) and (set(value) & {"global", "jobs", "matrix"}):
        value = _rename(dict(value), {"matrix": "jobs"}, "env", msgs)
        global_vars, bad = vars_of(_typed_env(value.get("global"), "env.global", msgs))
        jobs_value = value.get("jobs")
        # Vars given beside `global:` (`env: {global: …, BAR: …}`) are one job's vars.
        extra = {k: v for k, v in value.items() if k not in ("global", "jobs")}
        if extra and jobs_value is None:
            jobs_value = extra
    else:
        global_vars, bad = [], []
        jobs_value = value
    for var in bad:
        msgs.add("error", "env.global", "invalid_env_var", var=var)
    jobs: list[list[EnvVar]] = []
    # A single hash (not `{secure: ...}`) is one job with several vars.
    entries = jobs_value if isinstance(jobs_value, list) else [jobs_value]
    for entry in entries:
        if entry is None:
            continue
        found, bad = vars_of(_typed_env(entry, "env.jobs", msgs))
        for var in bad:
            msgs.add("error", "env.jobs", "invalid_env_var", var=var)
        if found:
            jobs.append(found)
    return {"global": global_vars, "jobs": jobs}


def _typed_env(entry: Any, path: str, msgs: Messages) -> Any:
    """An env entry without values of the wrong type: `secure:` without a value is dropped,
    a var whose value is a map or list is reported and set to the empty string."""
    if isinstance(entry, list):
        return [_typed_env(item, path, msgs) for item in entry]
    if not isinstance(entry, dict):
        return entry
    if set(entry) == {"secure"} and entry["secure"] is None:
        msgs.add("warn", f"{path}.secure", "empty", key=f"{path}.secure")
        return None
    out: dict[str, Any] = {}
    for name, value in entry.items():
        if isinstance(value, list) or (isinstance(value, dict) and set(value) != {"secure"}):
            msgs.add("error", f"{path}.{name}", "invalid_type", expected="str",
                     actual=_type_name(value), value=value)  # fmt: skip
            value = None
        out[name] = value
    return out


def normalize_jobs(value: Any, msgs: Messages) -> dict[str, Any] | None:
    """`jobs:` as {include: [...], exclude: [...], allow_failures: [...], fast_finish};
    None (the key dropped) when it is no such thing."""
    # `jobs: [FOO=foo]` (env lines where jobs belong) is not a list of jobs: reported below.
    if isinstance(value, list) and not (value and all(isinstance(v, str) for v in value)):
        value = {"include": value}
    if value is None:
        return {}
    if not isinstance(value, dict):
        msgs.add("error", "jobs", "invalid_type", actual=_type_name(value), expected="map",
                 value=value if isinstance(value, list) else scalar_text(value))  # fmt: skip
        return None
    value = _rename(dict(value), K.JOBS_ALIASES, "jobs", msgs)
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in ("include", "exclude", "allow_failures"):
            entries = []
            for index, entry in enumerate(_as_list(item)):
                with msgs.entry(f"jobs.{key}", index):
                    entries.append(normalize_entry(entry, f"jobs.{key}", msgs))
            out[key] = [e for e in entries if e is not None]
        elif key == "fast_finish":
            out[key] = item is True or scalar_text(item).lower() == "true"
        else:
            out[key] = item
    return out


def normalize_stages(value: Any, msgs: Messages) -> list[dict[str, str]]:
    """`stages:` as a list of {name, if?}."""
    out: list[dict[str, str]] = []
    for item in _as_list(value):
        if isinstance(item, dict):
            if item.get("name") is None:
                msgs.add("error", "stages", "required", key="name")
                continue
            stage = {"name": scalar_text(item["name"])}
            if item.get("if") is not None:
                stage["if"] = scalar_text(item["if"])
            out.append(stage)
        elif item is not None:
            out.append({"name": scalar_text(item)})
    return out


def _rename(data: dict[str, Any], aliases: dict[str, str], path: str, msgs: Messages) -> dict:
    """Replace alias keys by their canonical names, keeping order; the alias wins."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        target = aliases.get(key)
        if target is None:
            if key not in out or key not in aliases.values():
                out[key] = value
            continue
        where = f"{path}.{key}" if path else key
        msgs.add("info", path or "root", "alias_key", line=msgs.line_of(where), alias=key,
                 key=target)  # fmt: skip
        if target in data:
            # Travis lets the alias win when both spellings are given.
            msgs.add("error", path or "root", "overwrite", key=key, other=target)
        out[target] = value
    return out


def _migrate_jobs_keys(root: dict[str, Any], msgs: Messages) -> None:
    for key in K.MISPLACED_JOBS_KEYS:
        if key not in root:
            continue
        value = root.pop(key)
        jobs = root.get("jobs")
        if isinstance(jobs, list):
            jobs = {"include": jobs}
        if not isinstance(jobs, dict):
            jobs = {}
        root["jobs"] = jobs
        msgs.add("warn", "root", "migrate", line=msgs.line_of(key), key=key, parent="root",
                 target="jobs")  # fmt: skip
        jobs.setdefault(key, value)


def _enum(key: str, value: Any, path: str, msgs: Messages) -> str | None:
    if value is None:
        return None
    text = scalar_text(value)
    lowered = text.lower()
    if lowered != text:
        msgs.add("info", path, "downcase", value=text)
    aliases = {"language": K.LANGUAGE_ALIASES, "os": K.OS_ALIASES, "arch": K.ARCH_ALIASES}
    canonical = aliases.get(key, {}).get(lowered)
    if canonical:
        msgs.add("info", path, "alias_value", alias=lowered, value=canonical)
        return canonical
    return lowered


# Root keys with a fixed set of values; `stack` (internal build images) is experimental.
ENUMS: dict[str, tuple[str, ...]] = {"virt": ("vm", "lxd"), "stack": K.STACKS}


def _enum_value(key: str, value: Any, path: str, msgs: Messages) -> Any:
    if value is None or isinstance(value, (dict, list)):
        return value
    text = _lower(scalar_text(value), path, msgs)
    if text not in ENUMS[key]:
        msgs.add("error", path, "unknown_value", value=text)
    elif key == "stack":
        msgs.add("info", path, "edge")
    return text


def _lower(text: str, path: str, msgs: Messages) -> str:
    if text.lower() != text:
        msgs.add("info", path, "downcase", value=text)
    return text.lower()


def _scalars(value: Any, path: str, msgs: Messages) -> list[Any]:
    """Items of a scalar-or-seq value; maps and nested seqs are reported and dropped."""
    out: list[Any] = []
    for item in _as_list(value):
        if isinstance(item, (dict, list)):
            msgs.add("error", path, "invalid_type", expected="str", actual=type_name(item),
                     value=item)  # fmt: skip
        elif item is not None:
            out.append(item)
    return out


def _first(value: Any, path: str, msgs: Messages) -> Any:
    if isinstance(value, list):
        if not value:
            return None
        msgs.add("warn", path, "unexpected_seq", value=value[0])
        return value[0]
    return value


def _version(value: Any) -> Any:
    """One value of a version key; `dart_task` entries may be maps (`- test: --platform x`)."""
    return value if isinstance(value, dict) else _text(value)


def _text(value: Any) -> str:
    return scalar_text(value) if not isinstance(value, (dict, list)) else str(value)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "seq"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "num"
    return "str"
