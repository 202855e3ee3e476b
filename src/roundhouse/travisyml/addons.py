"""Normalisation of `addons:` (root or job): each known addon in its canonical shape.

`apt: curl` → `{apt: {packages: [curl]}}`, `artifacts: true` → `{artifacts: {enabled: true}}`,
`snaps: x` → `{snaps: [{name: x}]}`; plain strings on keys that expect an encrypted one are
reported as alerts. Unknown addons are kept, with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .messages import Messages
from .validate import cast, fix_keys, type_name


@dataclass(frozen=True)
class Addon:
    """A mapping addon: its keys' kinds, key aliases, and the key a bare value fills in
    (`scalar`) or a bare boolean fills in (`flag`)."""

    keys: dict[str, str]
    scalar: str | None = None
    flag: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    deprecated: dict[str, str] = field(default_factory=dict)


# Key kinds: str (kept; may be secure), secure (alert on plain strings), bool, seq (flattened
# list of scalars), first (one value; a list gives its first), any (kept as given).
MAPS: dict[str, Addon] = {
    "apt": Addon(
        {"packages": "seq", "sources": "sources", "dist": "str", "update": "bool",
         "config": "any"},
        scalar="packages", aliases={"package": "packages", "source": "sources"},
    ),
    "artifacts": Addon(
        {"enabled": "bool", "bucket": "str", "endpoint": "str", "key": "str", "secret": "secure",
         "paths": "seq", "branch": "str", "log_format": "str", "target_paths": "seq",
         "debug": "bool", "concurrency": "any", "max_size": "any", "region": "str",
         "permissions": "str", "working_dir": "str", "cache_control": "str",
         "s3_region": "str"},
        flag="enabled",
    ),
    "browserstack": Addon(
        {"username": "str", "access_key": "secure", "forcelocal": "bool", "only": "str",
         "app_path": "str", "proxyHost": "str", "proxyPort": "str", "proxyUser": "str",
         "proxyPass": "secure"},
    ),
    "code_climate": Addon({"repo_token": "secure"}, scalar="repo_token"),
    "coverity_scan": Addon(
        {"project": "project", "build_script_url": "str", "branch_pattern": "str",
         "notification_email": "str", "build_command": "str", "build_command_prepend": "str"},
    ),
    "homebrew": Addon(
        {"packages": "seq", "casks": "seq", "taps": "seq", "brewfile": "first",
         "update": "bool"},
        scalar="packages",
    ),
    "pkg": Addon({"packages": "seq", "branch": "str"}, scalar="packages",
                 aliases={"package": "packages"}),
    "sauce_connect": Addon(
        {"enabled": "bool", "username": "str", "access_key": "secure", "direct_domains": "str",
         "tunnel_domains": "str", "no_ssl_bump_domains": "str"},
        flag="enabled",
    ),
    "sonarcloud": Addon(
        {"enabled": "bool", "organization": "str", "token": "secure",
         "github_token": "secure", "branches": "seq"},
        flag="enabled",
        deprecated={"branches": "setting a branch is deprecated",
                    "github_token": "setting a GitHub token is deprecated"},
    ),
}  # fmt: skip
# Addons that are a list of strings (or encrypted strings).
SEQS = frozenset({"apt_packages", "hosts", "jwt", "ssh_known_hosts"})
# Addons that are one string; `chrome` is an enum.
STRINGS = frozenset({"firefox", "hostname", "mariadb", "postgresql", "rethinkdb", "chrome"})
CHROME = ("stable", "beta")
ALIASES = {"postgres": "postgresql"}
KNOWN = frozenset({*MAPS, *SEQS, *STRINGS, *ALIASES, "snaps", "srcclr", "deploy"})
DEPRECATED = {"jwt": "Discontinued as of April 17, 2018"}


def normalize_addons(value: Any, path: str, msgs: Messages) -> Any:
    """The canonical `addons:` mapping; anything but a mapping is reported and kept."""
    if not isinstance(value, dict):
        if value is not None:
            msgs.add("error", path, "invalid_type", expected="map", actual=type_name(value),
                     value=value)  # fmt: skip
        return value
    out: dict[str, Any] = {}
    for key, item in fix_keys(value, KNOWN, path, msgs).items():
        name = ALIASES.get(key, key)
        if name != key:
            msgs.add("info", path, "alias_key", alias=key, key=name)
        if name in DEPRECATED:
            msgs.add("warn", path, "deprecated_key", key=name, info=DEPRECATED[name])
        result = _addon(name, item, f"{path}.{name}", msgs)
        if result is not _DROP:
            out[name] = result
    return out


_DROP = object()


def _addon(name: str, value: Any, path: str, msgs: Messages) -> Any:
    if name in MAPS:
        return _map(MAPS[name], value, path, msgs)
    if name in SEQS:
        return _seq(value)
    if name == "chrome":
        return _chrome(value, path, msgs)
    if name in STRINGS:
        return cast(value, "str", path, msgs)
    if name == "snaps":
        return [{"name": v} if not isinstance(v, dict) else v for v in _seq(value)]
    if name == "srcclr" and not isinstance(value, (bool, dict)):
        msgs.add("error", path, "invalid_type", expected="map", actual=type_name(value),
                 value=value)  # fmt: skip
        return _DROP
    return value


def _map(addon: Addon, value: Any, path: str, msgs: Messages) -> Any:
    if isinstance(value, bool) and addon.flag:
        return {addon.flag: value}
    if not isinstance(value, dict) or _is_secure(value):
        if addon.scalar is None:
            return value
        value = {addon.scalar: value}
    out: dict[str, Any] = {}
    known = frozenset({*addon.keys, *addon.aliases})
    for key, item in fix_keys(value, known, path, msgs).items():
        name = addon.aliases.get(key, key)
        if name != key:
            msgs.add("info", path, "alias_key", alias=key, key=name)
        if name in addon.deprecated:
            msgs.add("warn", path, "deprecated_key", key=name, info=addon.deprecated[name])
        result = _key(addon.keys.get(name, "any"), item, f"{path}.{name}", msgs)
        if result is _DROP:
            return _DROP
        out[name] = result
    return out


def _key(kind: str, value: Any, path: str, msgs: Messages) -> Any:
    if kind == "seq":
        return _seq(value)
    if kind == "bool":
        return cast(value, "bool", path, msgs)
    if kind == "secure":
        if isinstance(value, str):
            msgs.add("alert", path, "secure", type="str")
        return value
    if kind == "first":
        if isinstance(value, list):
            first = value[0] if value else None
            msgs.add("warn", path, "unexpected_seq", value=first)
            return first
        return value
    if kind == "sources":
        return [{"name": v} if not isinstance(v, dict) else v for v in _seq(value)]
    if kind == "project":
        project = {"name": value} if not isinstance(value, dict) else value
        if project.get("name") is None:
            msgs.add("error", path, "required", key="name")
            return _DROP
        return project
    return value


def _chrome(value: Any, path: str, msgs: Messages) -> Any:
    text = cast(value, "str", path, msgs)
    if not isinstance(text, str):
        return text
    if text.lower() != text:
        msgs.add("info", path, "downcase", value=text)
        text = text.lower()
    if text not in CHROME:
        msgs.add("error", path, "unknown_value", value=text)
    return text


def _seq(value: Any) -> list[Any]:
    """A list of the scalars (or secure maps) in value, nested lists flattened."""
    if value is None:
        return []
    if not isinstance(value, list):
        return [value]
    out: list[Any] = []
    for item in value:
        out.extend(_seq(item))
    return out


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}
