"""Which notification targets of a build fire for one of its states (Travis's rules).

`on_start`, `on_success`, `on_failure`, `on_error` and `on_cancel` take always, never or change
("change": only when the state differs from the previous build's on the same branch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The channels Roundhouse delivers; other types in `notifications:` (irc, …) are ignored.
CHANNELS = ("email", "slack", "webhooks")
# The build state a notification is about → the key that decides whether it is sent.
ON_KEYS = {
    "started": "on_start",
    "passed": "on_success",
    "failed": "on_failure",
    "errored": "on_error",
    "canceled": "on_cancel",
}


@dataclass(frozen=True)
class Target:
    """One entry of `notifications.<channel>` (its place, for people: `webhooks #2`)."""

    channel: str
    number: int
    config: dict[str, Any]


def targets(notifications: dict[str, Any] | None) -> list[Target]:
    """The targets of a build's notifications; none configured means Travis's default, an
    email to the commit's author and committer."""
    configured = notifications or {}
    found: list[Target] = []
    for channel in CHANNELS:
        entries = configured.get(channel, [{}] if channel == "email" and not configured else [])
        if isinstance(entries, dict):
            entries = [entries]
        for number, entry in enumerate(entries if isinstance(entries, list) else [], start=1):
            if isinstance(entry, dict) and entry.get("enabled", True) is not False:
                found.append(Target(channel, number, entry))
    return found


def default_on(channel: str, key: str) -> str:
    """Travis's defaults: no start notifications; email on success only on change."""
    if key == "on_start":
        return "never"
    if key == "on_success" and channel == "email":
        return "change"
    return "always"


def fires(target: Target, state: str, previous_state: str | None, pull_request: bool) -> bool:
    """Whether target is notified of a build entering state."""
    key = ON_KEYS.get(state)
    if key is None:
        return False
    if pull_request and (
        target.channel == "email" or target.config.get("on_pull_requests") is False
    ):
        return False  # Travis sends no email about pull requests
    when = target.config.get(key, default_on(target.channel, key))
    if when == "never":
        return False
    if when == "change" and key != "on_start":
        return previous_state != state
    return True
