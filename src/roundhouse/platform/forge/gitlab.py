"""GitLab: webhook payloads, their secret token, and commit statuses.

GitLab signs nothing: it sends the hook's secret itself in `X-Gitlab-Token`, compared here
in constant time. `Idempotency-Key` stays the same when GitLab retries a delivery.
Merge requests build `refs/merge-requests/N/merge` where GitLab made it, else the head ref.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from roundhouse.platform.forge.common import (
    ZERO_SHA,
    CommitStatus,
    ForgeEvent,
    PullRequest,
    RepositoryRef,
    field,
    first_header,
    host_root,
    ignored,
    integer,
    optional,
    same,
    text,
)

NAME = "gitlab"
BUILT_ACTIONS = frozenset({"open", "reopen", "update"})
URL_KEYS = ("git_http_url", "git_ssh_url", "http_url", "ssh_url", "web_url", "url")
STATES = {
    "received": "running",
    "started": "running",
    "passed": "success",
    "failed": "failed",
    "errored": "failed",
    "canceled": "canceled",
}


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    return same(headers.get("x-gitlab-token"), secret)


def delivery_id(headers: Mapping[str, str]) -> str | None:
    return first_header(headers, "idempotency-key", "x-gitlab-event-uuid")


def repository(payload: dict[str, Any]) -> RepositoryRef | None:
    project = payload.get("project")
    if not isinstance(project, dict):
        return None  # system hooks and group hooks name no single project
    urls = tuple(str(project[key]) for key in URL_KEYS if project.get(key))
    return RepositoryRef(project.get("path_with_namespace"), urls)


def parse(headers: Mapping[str, str], payload: dict[str, Any]) -> ForgeEvent:
    # object_kind names the event in the body as X-Gitlab-Event does in the headers.
    kind = payload.get("object_kind") or headers.get("x-gitlab-event", "")
    if kind in ("push", "tag_push"):
        return _push(payload)
    if kind == "merge_request":
        return _merge_request(payload)
    return ignored(f"{kind or 'an unnamed'} event builds nothing")


def _push(payload: dict[str, Any]) -> ForgeEvent:
    ref = text(payload, "ref")
    after = text(payload, "after")
    if after == ZERO_SHA:
        return ignored(f"{ref} was deleted")
    # For an annotated tag, `after` is the tag object and checkout_sha its commit.
    sha = str(payload.get("checkout_sha") or after)
    commits = payload.get("commits") or []
    head: dict[str, Any] = next((c for c in commits if c.get("id") == sha), {})
    message = str(head.get("message") or "")
    sender = payload.get("user_username")
    if ref.startswith("refs/heads/"):
        branch = ref.removeprefix("refs/heads/")
        return ForgeEvent("push", branch=branch, sha=sha, message=message, sender=sender)
    if ref.startswith("refs/tags/"):
        tag = ref.removeprefix("refs/tags/")
        return ForgeEvent("push", tag=tag, sha=sha, message=message, sender=sender)
    return ignored(f"{ref} is neither a branch nor a tag")


def _merge_request(payload: dict[str, Any]) -> ForgeEvent:
    attributes = field(payload, "object_attributes")
    number = integer(payload, "object_attributes", "iid")
    action = str(attributes.get("action") or "")
    if action not in BUILT_ACTIONS:
        return ignored(f"merge request !{number} was {action or 'changed'}: nothing new to build")
    # `oldrev` comes only with an update that pushed commits; others change title or labels.
    if action == "update" and not attributes.get("oldrev"):
        return ignored(f"merge request !{number} was updated without new commits")
    source_id = attributes.get("source_project_id")
    request = PullRequest(
        number=number,
        title=str(attributes.get("title") or ""),
        base_branch=text(payload, "object_attributes", "target_branch"),
        head_branch=text(payload, "object_attributes", "source_branch"),
        head_sha=text(payload, "object_attributes", "last_commit", "id"),
        head_slug=optional(attributes, "source", "path_with_namespace"),
        fork=source_id is None or source_id != attributes.get("target_project_id"),
        ref=f"refs/merge-requests/{number}/merge",
    )
    return ForgeEvent(
        "pull_request",
        branch=request.base_branch,
        sender=optional(payload, "user", "username"),
        pull_request=request,
    )


def default_api_url(repository_url: str) -> str | None:
    root = host_root(repository_url)
    return f"{root}/api/v4" if root else None


def status_request(api_url: str, token: str, status: CommitStatus) -> httpx.Request:
    """POST /projects/{id}/statuses/{sha} (GitLab REST API v4, "Set the pipeline status")."""
    project = quote(status.slug, safe="")  # the URL-encoded path works as the project id
    body: dict[str, str] = {
        "state": STATES.get(status.state, "pending"),
        "name": status.context,
        "target_url": status.target_url,
        "description": status.description,
    }
    if status.ref:
        body["ref"] = status.ref
    return httpx.Request(
        "POST",
        f"{api_url.rstrip('/')}/projects/{project}/statuses/{status.sha}",
        headers={"PRIVATE-TOKEN": token, "Accept": "application/json"},
        json=body,
    )
