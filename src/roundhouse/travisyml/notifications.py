"""Notifications of a build: each type as a list of targets, filtered by their `if:`.

The hub sends what is left; defaults (`on_success: change` for email …) are applied there.
"""

from __future__ import annotations

from typing import Any

from .cond import text_of
from .filters import Conditions


def normalize(value: Any) -> dict[str, Any]:
    """`notifications:` with every type's value a list (a single hash is wrapped)."""
    if not isinstance(value, dict):
        return {}
    out: dict[str, Any] = {}
    for kind, targets in value.items():
        if isinstance(targets, dict):
            out[kind] = [targets]
        else:
            out[kind] = targets
    return out


def select(config: dict[str, Any], conditions: Conditions) -> dict[str, Any]:
    """Notifications whose condition holds (stage data: env.global and first env.jobs)."""
    notifications = normalize(config.get("notifications"))
    data = conditions.stage_data(config)
    out: dict[str, Any] = {}
    for kind, targets in notifications.items():
        if not isinstance(targets, list):
            out[kind] = targets
            continue
        kept: list[Any] = []
        for number, target in enumerate(targets, start=1):
            if not isinstance(target, dict) or target.get("if") is None:
                kept.append(target)
                continue
            held = conditions.check(target["if"], data, f"notifications.{kind}.if")
            if held:
                kept.append(target)
            elif held is False:
                conditions.msgs.add(
                    "info",
                    f"notifications.{kind}",
                    "skip_notification",
                    type=kind,
                    number=number,
                    condition=text_of(target["if"]),
                )
        out[kind] = kept
    return out
