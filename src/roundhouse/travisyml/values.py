"""Checks on a normalised config: enum values, keys unsupported by language/os, conditions.

Invalid conditions are dropped here (with their entry), as Travis does at validation time.
"""

from __future__ import annotations

from typing import Any

from . import cond, spelling
from . import keys as K
from .matrix import supported, supported_on_os
from .messages import Messages
from .sections import check_service_dist

_ENUMS: dict[str, tuple[str, ...]] = {
    "dist": K.DIST_VALUES,
    "arch": K.ARCH_VALUES,
    "os": K.OS_VALUES,
}
# Languages that run on one operating system only.
LANGUAGE_OS: dict[str, frozenset[str]] = {"objective-c": frozenset({"osx"})}


def check(config: dict[str, Any], msgs: Messages) -> None:
    """Report unknown values and unsupported keys; drop entries with invalid conditions."""
    version = "v0" if str(config.get("conditions")) == "v0" else "v1"
    config["language"] = check_language(config.get("language"), "language", msgs)
    if config["language"] is None:
        del config["language"]
    for key in ("dist", "arch"):
        for value in _values(config.get(key)):
            _check_enum(key, value, key, msgs)
    check_support(config, config.get("language"), config.get("os"), "", msgs)
    check_deploy_on(config.get("deploy"), config.get("language"), msgs)
    check_service_dist(config, "services", msgs)
    if "if" in config and not valid_condition(config["if"], "if", msgs, version):
        del config["if"]
    jobs = config.get("jobs") or {}
    for section in ("include", "exclude", "allow_failures"):
        if section in jobs:
            jobs[section] = check_entries(jobs[section], section, config, msgs, version)


def check_entries(
    entries: list[dict[str, Any]],
    section: str,
    root: dict[str, Any],
    msgs: Messages,
    version: str = "v1",
) -> list[dict[str, Any]]:
    path = f"jobs.{section}"
    kept: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        with msgs.entry(path, index):
            if _check_entry(entry, path, root, msgs, version):
                kept.append(entry)
    return kept


def _check_entry(
    entry: dict[str, Any], path: str, root: dict[str, Any], msgs: Messages, version: str
) -> bool:
    """Report problems of one entry; False when its condition is invalid."""
    if "language" in entry:
        entry["language"] = check_language(entry["language"], f"{path}.language", msgs)
    for key in ("os", "dist", "arch"):
        if entry.get(key) is not None:
            _check_enum(key, entry[key], f"{path}.{key}", msgs)
    language = entry.get("language", root.get("language"))
    os_value = entry.get("os", root.get("os"))
    check_support(entry, language, os_value, path, msgs)
    return "if" not in entry or valid_condition(entry["if"], f"{path}.if", msgs, version)


def check_language(value: Any, path: str, msgs: Messages) -> Any:
    """A known language, repaired when it is recognisably one; unknown ones are reported."""
    if value is None or not isinstance(value, str) or value in K.LANGUAGES:
        return value
    if value.startswith("__") and value.endswith("__"):
        msgs.add("warn", path, "deprecated_value", value=value, info="experimental stack language")
        return value
    cleaned = spelling.clean(value)
    if cleaned in K.LANGUAGES:
        code = "clean_value" if " " in value.strip() else "find_value"
        msgs.add("warn", path, code, original=value, value=cleaned)
        return cleaned
    near = spelling.nearest(cleaned, K.LANGUAGES)
    if near is not None:
        msgs.add("warn", path, "find_value", original=value, value=near)
        return near
    msgs.add("error", path, "unknown_value", value=value)
    return value


def _check_enum(key: str, value: Any, path: str, msgs: Messages) -> None:
    if isinstance(value, str) and value not in _ENUMS[key]:
        msgs.add("error", path, "unknown_value", value=value)


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def check_support(
    data: dict[str, Any], language: Any, os_value: Any, path: str, msgs: Messages
) -> None:
    """Warn about keys the language or every given os does not support (they stay here)."""
    os_list = [o for o in _values(os_value) if isinstance(o, str)]
    for key, value in data.items():
        where = f"{path}.{key}" if path else key
        if not supported(key, language):
            msgs.add("warn", where, "unsupported", on_key="language", on_value=language,
                     key=key, value=value)  # fmt: skip
        elif os_list and not any(supported_on_os(key, o) for o in os_list):
            msgs.add("warn", where, "unsupported", on_key="os", on_value=os_list[0], key=key,
                     value=value)  # fmt: skip
    allowed = LANGUAGE_OS.get(language) if isinstance(language, str) else None
    if allowed and "os" in data and os_list and not set(os_list) & allowed:
        where = f"{path}.os" if path else "os"
        msgs.add("warn", where, "unsupported", on_key="language", on_value=language, key="os",
                 value=os_list[0] if len(os_list) == 1 else os_list)  # fmt: skip


def check_deploy_on(deploy: Any, language: Any, msgs: Messages) -> None:
    """`deploy.on` version keys the language does not have (`on: {python: …}` for ruby)."""
    for entry in deploy if isinstance(deploy, list) else []:
        on = entry.get("on") if isinstance(entry, dict) else None
        for key, value in (on or {}).items() if isinstance(on, dict) else ():
            if not supported(key, language):
                msgs.add("warn", f"deploy.on.{key}", "unsupported", on_key="language",
                         on_value=language, key=key, value=value)  # fmt: skip


def valid_condition(expr: Any, path: str, msgs: Messages, version: str = "v1") -> bool:
    """Parse and dry-run a condition (all variables nil); report it when invalid."""
    text = cond.text_of(expr)
    error = cond.validate(text, version)
    if error is None:
        return True
    if error.startswith(("Could not parse", "expected")) or error == text:
        message: str | None = None
    else:
        message = error
    msgs.add("error", path, "invalid_condition", condition=text, message=message)
    return False
