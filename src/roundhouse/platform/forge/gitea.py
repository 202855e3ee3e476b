"""Gitea and Forgejo: webhook payloads, their signature, and commit statuses.

Deliveries are signed with `X-Gitea-Signature: <hex HMAC-SHA256 of the body>` (no prefix;
Forgejo sends the same value as `X-Forgejo-Signature` too). The payloads follow GitHub's
shape, so the parsers are github.py's; Gitea makes no merge ref, so a pull request builds
its head ref `refs/pull/N/head`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from roundhouse.platform.forge import github
from roundhouse.platform.forge.common import (
    CommitStatus,
    ForgeEvent,
    RepositoryRef,
    first_header,
    hmac_sha256,
    host_root,
    ignored,
    same,
)

NAME = "gitea"
# Gitea spells GitHub's "synchronize" as "synchronized".
BUILT_ACTIONS = frozenset({"opened", "synchronized", "reopened"})
STATES = {"passed": "success", "failed": "failure", "errored": "error", "canceled": "error"}


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    given = first_header(headers, "x-gitea-signature", "x-forgejo-signature", "x-gogs-signature")
    return same(given, hmac_sha256(secret, body))


def delivery_id(headers: Mapping[str, str]) -> str | None:
    return first_header(headers, "x-gitea-delivery", "x-forgejo-delivery", "x-gogs-delivery")


def repository(payload: dict[str, Any]) -> RepositoryRef | None:
    return github.repository(payload)


def parse(headers: Mapping[str, str], payload: dict[str, Any]) -> ForgeEvent:
    event = first_header(headers, "x-gitea-event", "x-forgejo-event", "x-gogs-event") or ""
    if event == "push":
        return github.parse_push(payload)
    if event == "pull_request":
        return github.parse_pull_request(payload, BUILT_ACTIONS, "refs/pull/{number}/head")
    return ignored(f"{event or 'an unnamed'} event builds nothing")


def default_api_url(repository_url: str) -> str | None:
    root = host_root(repository_url)
    return f"{root}/api/v1" if root else None


def status_request(api_url: str, token: str, status: CommitStatus) -> httpx.Request:
    """POST /repos/{owner}/{repo}/statuses/{sha} (Gitea API v1, CreateStatusOption)."""
    return httpx.Request(
        "POST",
        f"{api_url.rstrip('/')}/repos/{status.slug}/statuses/{status.sha}",
        headers={"Authorization": f"token {token}", "Accept": "application/json"},
        json={
            "state": STATES.get(status.state, "pending"),
            "target_url": status.target_url,
            "description": status.description,
            "context": status.context,
        },
    )
