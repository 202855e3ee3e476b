"""Normalisation of `notifications:`: each type a list of target maps, keys and values checked.

`email: a@b` → `{email: [{recipients: [a@b]}]}`; `on_success` given once applies to every type.
"""

from __future__ import annotations

import re
from typing import Any

from . import spelling
from .messages import Messages
from .validate import cast, fix_keys, type_name

_ON = ("on_success", "on_failure", "on_start", "on_cancel", "on_error")
_COMMON: dict[str, str] = {"enabled": "bool", "disabled": "bool", "if": "cond", **{
    k: "on" for k in _ON}}  # fmt: skip
# Per type: the key a bare string fills in, and the kinds of its own keys.
# (None: only mappings are targets.)
TYPES: dict[str, tuple[str | None, dict[str, str]]] = {
    "email": ("recipients", {"recipients": "seq"}),
    "irc": ("channels", {
        "channels": "seq", "channel_key": "secure", "password": "secure",
        "nickserv_password": "secure", "nick": "str", "use_notice": "bool",
        "skip_join": "bool", "template": "template"}),
    "slack": ("rooms", {"rooms": "seq_secure", "template": "template",
                        "on_pull_requests": "bool"}),
    "webhooks": ("urls", {"urls": "seq", "on_pull_requests": "bool"}),
    "campfire": ("rooms", {"rooms": "seq_secure", "template": "template"}),
    "flowdock": ("api_token", {"api_token": "secure", "template": "template"}),
    "hipchat": ("rooms", {"rooms": "seq_secure", "template": "template", "format": "str",
                          "notify": "bool", "on_pull_requests": "bool"}),
    "pushover": (None, {"api_key": "seq_secure", "users": "seq_secure",
                        "template": "template"}),
    "msteams": ("rooms", {"rooms": "seq_secure", "template": "template"}),
}  # fmt: skip
ALIASES = {"emails": "email", "webhook": "webhooks", "slacks": "slack"}
TEMPLATE_VARS = frozenset(
    {
        "repository", "repository_slug", "repository_name", "build_number", "build_id", "build_url",
        "branch", "commit", "commit_subject", "commit_message", "author", "result", "duration",
        "elapsed_time", "message", "compare_url", "pull_request", "pull_request_number",
        "pull_request_url", "tag",
    }
)  # fmt: skip
_VAR = re.compile(r"%\{([^}]*)\}")
_ON_VALUES = ("always", "never", "change")
_FLAGS = {"yes": True, "on": True, "true": True, "no": False, "off": False, "false": False}


def normalize_notifications(value: Any, msgs: Messages) -> dict[str, Any] | None:
    """The canonical `notifications:` mapping (None when given as null)."""
    if value is None:
        return None
    value = _flag(value)
    if isinstance(value, bool):
        return {"email": [{"enabled": value}]}
    from_seq = isinstance(value, list)
    if isinstance(value, list):
        maps = [v for v in value if isinstance(v, dict)]
        if not maps:
            return {}
        value = maps[0]
    if not isinstance(value, dict):
        return {"email": [{"recipients": [value]}]}
    known = frozenset({*TYPES, *ALIASES, *_ON, "recipients"})
    value = fix_keys(value, known, "notifications", msgs)
    if from_seq:
        shown = {ALIASES.get(k, k): v for k, v in value.items()}
        msgs.add("warn", "notifications", "unexpected_seq", value=shown)
    shared = {k: value.pop(k) for k in _ON if k in value}
    if "recipients" in value and "email" not in value:
        value["email"] = {"recipients": value.pop("recipients")}
    out: dict[str, Any] = {}
    for key, item in value.items():
        kind = ALIASES.get(key, key)
        if kind != key:
            msgs.add("info", "notifications", "alias_key", alias=key, key=kind)
        if kind not in TYPES:
            out[key] = item
            continue
        targets = targets_of(kind, item, msgs)
        for target in targets:
            for on_key, on_value in shared.items():
                target.setdefault(on_key, _on_value(on_value, f"notifications.{on_key}", msgs))
        out[kind] = targets
    return out


def targets_of(kind: str, value: Any, msgs: Messages) -> list[dict[str, Any]]:
    prefix, _ = TYPES[kind]
    path = f"notifications.{kind}"
    if value is None:
        return []
    value = _flag(value)
    if isinstance(value, bool):
        return [{"enabled": value}]
    items = value if isinstance(value, list) else [value]
    targets: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict) and set(item) != {"secure"}:
            targets.append(dict(item))
        elif prefix is None:
            secure = isinstance(item, dict)
            msgs.add("error", f"{path}.secure" if secure else path, "invalid_type",
                     expected="map", actual="secure" if secure else type_name(item),
                     value=item)  # fmt: skip
        elif kind == "email" and targets and set(targets[-1]) == {prefix}:
            targets[-1][prefix].append(item)
        else:
            targets.append({prefix: [item] if _is_seq(kind, prefix) else item})
    checked = (_target(kind, t, path, msgs) for t in targets)
    return [t for t in checked if t is not None]


def _flag(value: Any) -> Any:
    """`yes`/`no` (YAML 1.1 booleans, kept as strings by the loader) switch a notification."""
    if isinstance(value, str) and value.lower() in _FLAGS:
        return _FLAGS[value.lower()]
    return value


def _is_seq(kind: str, key: str) -> bool:
    return TYPES[kind][1].get(key, "").startswith("seq")


def _target(kind: str, target: dict[str, Any], path: str, msgs: Messages) -> dict | None:
    kinds = {**_COMMON, **TYPES[kind][1]}
    target = fix_keys(target, frozenset(kinds), path, msgs)
    if "disabled" in target:
        target["enabled"] = not cast(target.pop("disabled"), "bool", f"{path}.disabled", msgs)
    for key, value in list(target.items()):
        where = f"{path}.{key}"
        spec = kinds.get(key)
        if spec is None:
            continue
        if spec == "cond":
            from .values import valid_condition

            if isinstance(value, list):
                msgs.add("warn", where, "unexpected_seq", value=value[0] if value else None)
                value = value[0] if value else None
            if not valid_condition(value, where, msgs):
                return None
            target[key] = value if isinstance(value, str) else str(value).lower()
        elif spec == "on":
            target[key] = _on_value(value, where, msgs)
        elif spec in ("bool", "str"):
            target[key] = cast(value, spec, where, msgs)
        elif spec in ("seq", "seq_secure", "template"):
            target[key] = value if isinstance(value, list) else [value]
            if spec == "seq_secure":
                _alert_plain(target[key], where, msgs)
            if spec == "template":
                _check_template(target[key], where, msgs)
        elif spec == "secure":
            if isinstance(value, list):
                value = target[key] = value[0] if value else None
                msgs.add("warn", where, "unexpected_seq", value=value)
            _alert_plain([value], where, msgs)
    return target


def _on_value(value: Any, path: str, msgs: Messages) -> Any:
    if isinstance(value, bool):
        alias = "always" if value else "never"
        msgs.add("info", path, "alias_value", alias=str(value).lower(), value=alias)
        return alias
    text = str(value)
    if text in _ON_VALUES:
        return text
    cleaned = spelling.clean(text)
    if cleaned in _ON_VALUES:
        msgs.add("warn", path, "find_value", original=text, value=cleaned)
        return cleaned
    msgs.add("error", path, "unknown_value", value=value)
    return value


def _alert_plain(values: list[Any], path: str, msgs: Messages) -> None:
    if any(isinstance(v, str) for v in values):
        msgs.add("alert", path, "secure", type="str")


def _check_template(lines: list[Any], path: str, msgs: Messages) -> None:
    for line in lines:
        for var in _VAR.findall(str(line)):
            if var not in TEMPLATE_VARS:
                msgs.add("warn", path, "unknown_var", var=var)
