"""GitHub and GitHub Enterprise: webhook payloads, their signature, and commit statuses.

Deliveries are signed with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`;
the event is in `X-GitHub-Event`, the delivery's unique id in `X-GitHub-Delivery`.
Gitea's payloads follow GitHub's, so gitea.py reuses the parsers below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from roundhouse.platform.forge.common import (
    ZERO_SHA,
    CommitStatus,
    ForgeEvent,
    PullRequest,
    RepositoryRef,
    field,
    first_header,
    hmac_sha256,
    host_root,
    ignored,
    integer,
    optional,
    same,
    text,
)

NAME = "github"
BUILT_ACTIONS = frozenset({"opened", "synchronize", "reopened"})
# GitHub's commit states: pending, success, failure, error (no "canceled").
STATES = {"passed": "success", "failed": "failure", "errored": "error", "canceled": "error"}
URL_KEYS = ("clone_url", "ssh_url", "git_url", "html_url", "svn_url")


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    return same(headers.get("x-hub-signature-256"), "sha256=" + hmac_sha256(secret, body))


def delivery_id(headers: Mapping[str, str]) -> str | None:
    return first_header(headers, "x-github-delivery")


def repository(payload: dict[str, Any]) -> RepositoryRef | None:
    repo = payload.get("repository")
    if not isinstance(repo, dict):
        return None  # e.g. an organisation's ping, or an app installation
    urls = tuple(str(repo[key]) for key in URL_KEYS if repo.get(key))
    return RepositoryRef(repo.get("full_name"), urls)


def parse(headers: Mapping[str, str], payload: dict[str, Any]) -> ForgeEvent:
    event = headers.get("x-github-event", "")
    if event == "push":
        return parse_push(payload)
    if event == "pull_request":
        return parse_pull_request(payload, BUILT_ACTIONS, "refs/pull/{number}/merge")
    if event == "ping":
        return ignored("ping: the hook reaches Roundhouse and its signature is right")
    # `create` and `delete` events duplicate what push events say about refs.
    return ignored(f"{event or 'an unnamed'} event builds nothing")


def parse_push(payload: dict[str, Any]) -> ForgeEvent:
    """A push to a branch or tag (GitHub's and Gitea's shape)."""
    ref = text(payload, "ref")
    after = text(payload, "after")
    if payload.get("deleted") or after == ZERO_SHA:
        return ignored(f"{ref} was deleted")
    head = optional(payload, "head_commit") or {}
    if not head:
        # Gitea sends no head_commit; its commits list holds the pushed head.
        head = next((c for c in payload.get("commits") or [] if c.get("id") == after), {})
    # For an annotated tag, `after` is the tag object; head_commit is the commit.
    sha = str(head.get("id") or after)
    message = str(head.get("message") or "")
    sender = optional(payload, "sender", "login")
    if ref.startswith("refs/heads/"):
        branch = ref.removeprefix("refs/heads/")
        return ForgeEvent("push", branch=branch, sha=sha, message=message, sender=sender)
    if ref.startswith("refs/tags/"):
        tag = ref.removeprefix("refs/tags/")
        return ForgeEvent("push", tag=tag, sha=sha, message=message, sender=sender)
    return ignored(f"{ref} is neither a branch nor a tag")


def _repo_id(side: dict[str, Any]) -> Any:
    # Trimmed Gitea payloads carry only repo_id next to the branch.
    repo = side.get("repo")
    return repo.get("id") if isinstance(repo, dict) else side.get("repo_id")


def parse_pull_request(
    payload: dict[str, Any], built_actions: frozenset[str], ref_template: str
) -> ForgeEvent:
    """A pull request event (GitHub's and Gitea's shape); ref_template names the ref to build."""
    action = text(payload, "action")
    number = integer(payload, "pull_request", "number")
    if action not in built_actions:
        return ignored(f"pull request #{number} was {action}: nothing new to build")
    pull = field(payload, "pull_request")
    head = field(payload, "pull_request", "head")
    base = field(payload, "pull_request", "base")
    head_id = _repo_id(head)
    request = PullRequest(
        number=number,
        title=str(pull.get("title") or ""),
        base_branch=text(payload, "pull_request", "base", "ref"),
        head_branch=text(payload, "pull_request", "head", "ref"),
        head_sha=text(payload, "pull_request", "head", "sha"),
        head_slug=optional(head, "repo", "full_name"),
        # A head repository that is gone counts as a fork: it is not the base repository.
        fork=head_id is None or head_id != _repo_id(base),
        ref=ref_template.format(number=number),
    )
    return ForgeEvent(
        "pull_request",
        branch=request.base_branch,
        sender=optional(payload, "sender", "login"),
        pull_request=request,
    )


def default_api_url(repository_url: str) -> str | None:
    """api.github.com for github.com; GitHub Enterprise Server serves its API under /api/v3."""
    root = host_root(repository_url)
    if root is None:
        return None
    return "https://api.github.com" if root == "https://github.com" else f"{root}/api/v3"


def status_request(api_url: str, token: str, status: CommitStatus) -> httpx.Request:
    """POST /repos/{owner}/{repo}/statuses/{sha} (GitHub REST API, "Commit statuses")."""
    return httpx.Request(
        "POST",
        f"{api_url.rstrip('/')}/repos/{status.slug}/statuses/{status.sha}",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
        json={
            "state": STATES.get(status.state, "pending"),
            "target_url": status.target_url,
            "description": status.description,
            "context": status.context,
        },
    )
