"""The worker token: what a worker must send with its heartbeats to be given jobs.

It is derived from the instance key (HMAC-SHA256), so every platform process of one
installation knows it without storing it; a new instance key gives a new worker token.
"""

from __future__ import annotations

import base64
import hmac

from roundhouse.platform.secrets import AtRest
from roundhouse.settings import Settings

PURPOSE = "roundhouse worker token"


def worker_token(settings: Settings) -> str:
    """The token workers put in their `token` setting (`roundhouse workers token`)."""
    digest = AtRest.from_settings(settings).derive(PURPOSE)
    return "rhw_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_matches(expected: str, given: object) -> bool:
    """Whether given is the worker token, compared in constant time."""
    return isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())
