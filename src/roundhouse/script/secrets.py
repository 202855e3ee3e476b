"""The values a worker must mask in a job's log, in every form they are likely to appear.

Fills the payload's `secrets`: private settings variables, secure .travis.yml variables, and
other decrypted secure strings (deploy keys, tokens: `travisyml.secure.SecureValues.values`).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote as url_quote

from roundhouse.script.env import config_vars, settings_vars
from roundhouse.travisyml.env import unquote

# Masking one- to three-character values would blank out ordinary log text everywhere.
MIN_LENGTH = 4


def _base64_forms(value: bytes) -> set[str]:
    """The base64 text of value as it appears inside a longer encoded stream, at each of the
    three byte alignments (only the characters that depend on value alone)."""
    forms: set[str] = set()
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + value).decode().rstrip("=")
        # Skip characters that mix padding bits in; drop the last, possibly partial group.
        start = (pad * 4 + 2) // 3
        usable = ((pad + len(value)) // 3) * 4
        if usable - start >= MIN_LENGTH:
            forms.add(encoded[start:usable])
    return forms


def forms(value: str) -> set[str]:
    """value itself and its URL-encoded and base64 forms (each at least MIN_LENGTH long)."""
    found = {value, url_quote(value, safe=""), url_quote(value, safe="/:")}
    found |= _base64_forms(value.encode())
    return {f for f in found if len(f) >= MIN_LENGTH}


def secret_values(payload: Any, extra: Iterable[str] = ()) -> list[str]:
    """Every string to mask for this job, longest first (so a longer match wins).

    `extra`: decrypted secure strings that are not env vars, so not visible as secure here.
    """
    configured, _ = config_vars(payload.get("config") or {})
    values: set[str] = set()
    for value in extra:
        values |= forms(value)
    for var in [*settings_vars(payload), *configured]:
        if var.secure:
            # Values are shell text; the log shows what bash made of them.
            values |= forms(var.value) | forms(unquote(var.value))
    return sorted(values, key=lambda v: (-len(v), v))
