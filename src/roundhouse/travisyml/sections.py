"""Normalisation of small sections with a fixed shape: `import`, `workspaces`, `android`,
`services`, R's `repos`, and the command lists of the phases.

Each function takes the raw value and the key path, reports problems, and returns the
canonical value (None drops the key).
"""

from __future__ import annotations

from typing import Any

from . import keys as K
from . import spelling
from .env import scalar_text
from .messages import Messages
from .validate import type_name

SERVICES: frozenset[str] = frozenset(
    {
        "cassandra", "couchdb", "docker", "elasticsearch", "memcached", "mongodb", "mysql",
        "neo4j", "postgresql", "rabbitmq", "redis", "riak", "xvfb", "cri-dockerd",
    }
)  # fmt: skip
# Services that older images do not have.
SERVICE_DISTS_WITHOUT: dict[str, frozenset[str]] = {"xvfb": frozenset({"precise", "trusty"})}


def seq(value: Any) -> list[Any]:
    """A scalar or list as a list (None is empty)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def normalize_import(value: Any) -> list[Any]:
    """`import:` as a list of {source, …} maps (`import: a.yml` → `[{source: a.yml}]`)."""
    return [{"source": item} if isinstance(item, str) else item for item in seq(value)]


def normalize_workspaces(value: Any) -> Any:
    """`workspaces: {create: {name, paths: [...]}, use: [...]}`."""
    if not isinstance(value, dict):
        return value
    out = dict(value)
    if isinstance(out.get("create"), dict) and "paths" in out["create"]:
        out["create"] = {**out["create"], "paths": seq(out["create"]["paths"])}
    if "use" in out:
        out["use"] = seq(out["use"])
    return out


def normalize_android(value: Any) -> Any:
    """`android: {components: [...], licenses: [...]}`."""
    if not isinstance(value, dict):
        return value
    return {k: seq(v) if k in ("components", "licenses") else v for k, v in value.items()}


def normalize_map(value: Any, path: str, msgs: Messages) -> Any:
    """A key that only takes a mapping (R's `repos`); anything else is reported and dropped."""
    if isinstance(value, dict):
        return value
    msgs.add("error", path, "invalid_type", expected="map", actual=type_name(value),
             value=value)  # fmt: skip
    return None


def normalize_services(value: Any, path: str, msgs: Messages) -> list[str]:
    """Service names, aliases resolved and typos repaired (`redes` → `redis`)."""
    out: list[str] = []
    for item in seq(value):
        if item is None:
            continue
        name = K.SERVICE_ALIASES.get(str(item), str(item))
        if name not in SERVICES:
            near = spelling.nearest(spelling.clean(name), SERVICES)
            if near is not None:
                msgs.add("warn", path, "find_value", original=name, value=near)
                name = near
        out.append(name)
    return out


def check_service_dist(config: dict[str, Any], path: str, msgs: Messages) -> None:
    """Services the job's dist does not have (`xvfb` before xenial)."""
    dist = config.get("dist")
    for service in config.get("services") or []:
        if dist in SERVICE_DISTS_WITHOUT.get(service, ()):
            msgs.add("warn", path or "services", "unsupported", on_key="dist", on_value=dist,
                     key="services", value=service)  # fmt: skip


def commands(value: Any, path: str, msgs: Messages) -> list[str] | None:
    """A phase's commands as strings; a mapping (usually a `key: value` YAML mistake in an
    unquoted command) is reported and dropped."""
    if value is None:
        return None
    out: list[str] = []
    for item in seq(value):
        if isinstance(item, (dict, list)):
            msgs.add("error", path, "invalid_type", expected="str", actual=type_name(item),
                     value=item)  # fmt: skip
        elif item is not None:
            out.append(scalar_text(item))
    return out
