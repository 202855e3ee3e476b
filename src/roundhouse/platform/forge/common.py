"""What every forge module shares: the common event shapes and small payload helpers.

A forge module turns its own webhook payload into a ForgeEvent, and a CommitStatus into its
own API request; nothing outside platform/forge/ knows a forge's field names.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

# git's name for "no commit": the old side of a created ref, the new side of a deleted one.
ZERO_SHA = "0" * 40


class Malformed(ValueError):
    """A signed payload lacks what its event must carry; the message names the field."""


@dataclass(frozen=True)
class RepositoryRef:
    """How a payload names its repository: "owner/name" and the URLs it can be cloned from."""

    full_name: str | None
    urls: tuple[str, ...]


@dataclass(frozen=True)
class PullRequest:
    number: int
    title: str
    base_branch: str
    head_branch: str
    head_sha: str
    # None when the head repository is gone (a deleted fork).
    head_slug: str | None
    fork: bool
    # The ref to build first: the forge's merge ref where it makes one, else the head ref.
    ref: str


@dataclass(frozen=True)
class ForgeEvent:
    """What one webhook asks for, in the same words for every forge."""

    kind: Literal["push", "pull_request", "ignored"]
    reason: str = ""  # why an ignored event builds nothing
    branch: str | None = None  # the pushed branch; for a pull request its base branch
    tag: str | None = None
    sha: str | None = None  # the pushed commit; a pull request's is found from its ref
    message: str = ""
    sender: str | None = None
    pull_request: PullRequest | None = None


def ignored(reason: str) -> ForgeEvent:
    return ForgeEvent(kind="ignored", reason=reason)


@dataclass(frozen=True)
class CommitStatus:
    """One build state to show on a commit; each forge maps `state` to its own words."""

    slug: str
    sha: str
    state: str  # a build state: created, queued, received, started, passed, failed, …
    target_url: str
    context: str
    description: str
    ref: str | None  # the branch or tag (GitLab attaches the status to a pipeline of it)


def field(data: Any, *path: str) -> Any:
    """data[path[0]][path[1]]…, or Malformed naming the first missing key."""
    for depth, key in enumerate(path):
        if not isinstance(data, dict) or data.get(key) is None:
            raise Malformed(f"The payload has no {'.'.join(path[: depth + 1])}.")
        data = data[key]
    return data


def text(data: Any, *path: str) -> str:
    value = field(data, *path)
    if not isinstance(value, str | int):
        raise Malformed(f"The payload's {'.'.join(path)} is not text.")
    return str(value)


def integer(data: Any, *path: str) -> int:
    value = text(data, *path)
    if not value.isdigit():
        raise Malformed(f"The payload's {'.'.join(path)} is not a number.")
    return int(value)


def optional(data: Any, *path: str) -> Any:
    """Like field(), but None where a key is missing."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def first_header(headers: Mapping[str, str], *names: str) -> str | None:
    """The first non-empty header of names (forges send the same value under several)."""
    for name in names:
        value = headers.get(name)
        if value:
            return value
    return None


def hmac_sha256(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def same(given: str | None, expected: str) -> bool:
    """Constant-time comparison, so the time taken tells nothing about the secret."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def host_root(url: str) -> str | None:
    """https://host[:port] of a clone URL (https://, ssh:// or scp-like git@host:path)."""
    if "://" not in url:
        user_host, sep, _ = url.partition(":")
        if not sep or "/" in user_host:
            return None  # a local path
        return f"https://{user_host.rpartition('@')[2]}"
    parts = urlsplit(url)
    if not parts.hostname or parts.scheme == "file":
        return None
    scheme = parts.scheme if parts.scheme in ("http", "https") else "https"
    port = f":{parts.port}" if parts.port and scheme == parts.scheme else ""
    return f"{scheme}://{parts.hostname}{port}"
