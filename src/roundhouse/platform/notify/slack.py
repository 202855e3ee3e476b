"""Slack notifications: Travis's `account:token#channel` rooms, posted to Slack's incoming
webhook of that account, and plain incoming-webhook URLs (`https://…`, optionally `#channel`)
for Slack-compatible receivers such as Mattermost or Rocket.Chat.

The message is one attachment coloured by outcome, its text the target's `template` or
Travis's default line.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from roundhouse.platform.notify.message import BuildMessage

DEFAULT_TEMPLATE = [
    "Build <%{build_url}|#%{build_number}> (%{commit}) of %{repository_slug}@%{branch} "
    "by %{author} %{result} in %{duration}"
]
COLORS = {"passed": "good", "failed": "danger"}


class BadRoom(ValueError):
    """A room that is neither `account:token#channel` nor an http(s) URL."""


@dataclass(frozen=True)
class Room:
    url: str
    channel: str | None
    label: str  # for people: no token


def room(value: str, slack_url: str) -> Room:
    """Where a room's messages go; slack_url is the settings' template with `{account}`."""
    text, _, channel = value.strip().partition("#")
    target = f"#{channel}" if channel else ""
    if text.startswith(("http://", "https://")):
        parts = urlsplit(text)
        return Room(text, target or None, f"slack {parts.scheme}://{parts.hostname}{target}")
    account, sep, token = text.partition(":")
    if not (sep and account and token):
        raise BadRoom(
            "A Slack room is `account:token#channel` or an incoming-webhook URL; "
            f"{account or 'one'!r} is neither."
        )
    url = str(httpx.URL(slack_url.format(account=account), params={"token": token}))
    return Room(url, target or None, f"slack {account}{target}")


def body(message: BuildMessage, channel: str | None, template: list[str] | None) -> dict:
    text = message.render(template or DEFAULT_TEMPLATE)
    data: dict = {
        "attachments": [
            {
                "fallback": text,
                "text": text,
                "color": COLORS.get(message.state, "warning"),
                "mrkdwn_in": ["text"],
            }
        ]
    }
    if channel:
        data["channel"] = channel
    return data
