"""Which commit a request builds, fetched into the repository's mirror.

A push builds its pushed commit (or the branch's head). A pull request builds the forge's
merge commit (refs/pull/N/merge) when that merges the pull request's current head, else the
head ref, else the head commit by its sha: the merge ref is missing while a pull request has
conflicts, is never made by Gitea, and lags behind for a moment after each push.
"""

from __future__ import annotations

from dataclasses import dataclass

from roundhouse.db.models import Request
from roundhouse.platform.git import GitError, Mirror


@dataclass(frozen=True)
class Revision:
    sha: str
    # The ref the job fetches to get sha (pull requests); None: the job fetches sha itself.
    ref: str | None


async def resolve(request: Request, mirror: Mirror) -> Revision:
    """The commit to build; GitError when the repository does not have it."""
    if request.pull_request_number is not None and request.ref:
        return await _pull_request(request, mirror)
    if request.tag:
        ref: str | None = f"refs/tags/{request.tag}"
    else:
        ref = f"refs/heads/{request.branch}" if request.branch else None
    if request.sha:
        await mirror.fetch_commit(request.sha, ref)
        return Revision(request.sha, None)
    if request.branch:
        return Revision(await mirror.fetch_branch(request.branch), None)
    raise GitError("the request names neither a branch nor a commit")


def _candidates(ref: str) -> list[str]:
    """The preferred ref, and the head ref next to a merge ref (refs/pull/N/merge → …/head)."""
    if ref.endswith("/merge"):
        return [ref, ref.removesuffix("/merge") + "/head"]
    return [ref]


async def _pull_request(request: Request, mirror: Mirror) -> Revision:
    assert request.ref is not None
    head_sha = request.head_sha
    candidates = _candidates(request.ref)
    for ref in candidates:
        sha = await mirror.fetch_ref(ref)
        if sha is None:
            continue
        if ref.endswith("/merge"):
            # A merge commit's second parent is the head it merges; an older one is stale.
            if head_sha is None or head_sha in (await mirror.parents(sha))[1:]:
                return Revision(sha, ref)
        elif head_sha is None or sha == head_sha:
            return Revision(sha, ref)
    if head_sha is None:
        raise GitError(f"the repository has none of {', '.join(candidates)}")
    # The refs moved on since the event (a newer push): build the event's own head commit.
    branch_ref = None if request.fork else f"refs/heads/{request.head_branch}"
    await mirror.fetch_commit(head_sha, branch_ref)
    return Revision(head_sha, None)
