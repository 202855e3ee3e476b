"""Queue routing: which broker queue a job goes to, from the ordered `queue_rules` setting.

First matching rule wins; a `queue:` key in the job config names the queue outright.
"""

from __future__ import annotations

from typing import Any

from roundhouse.settings import QueueRule, Settings


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _matches(rule: QueueRule, config: dict[str, Any], slug: str) -> bool:
    owner = slug.split("/", 1)[0]
    checks: list[tuple[str | None, list[str]]] = [
        (rule.dist, _as_list(config.get("dist"))),
        (rule.os, _as_list(config.get("os"))),
        (rule.arch, _as_list(config.get("arch"))),
        (rule.language, _as_list(config.get("language"))),
        (rule.services, _as_list(config.get("services"))),
        (rule.group, _as_list(config.get("group"))),
        (rule.queue_key, _as_list(config.get("queue"))),
        (rule.slug, [slug]),
        (rule.owner, [owner]),
    ]
    return all(wanted is None or wanted in values for wanted, values in checks)


def queue_name(name: str) -> str:
    return name if name.startswith("builds.") else f"builds.{name}"


def route(config: dict[str, Any], slug: str, settings: Settings) -> str:
    for rule in settings.queue_rules:
        if _matches(rule, config, slug):
            return queue_name(rule.queue)
    if isinstance(config.get("queue"), str) and config["queue"]:
        return queue_name(config["queue"])
    return settings.default_queue
