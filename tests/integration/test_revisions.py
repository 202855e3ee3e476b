"""Which commit a request builds, read through a real bare mirror of a real git repository:
a pull request's merge ref when it merges the current head, else its head ref, else the
head commit itself; a tag push fetches only its tag.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from roundhouse.db.models import Request
from roundhouse.platform.git import GitError, Mirror
from roundhouse.platform.revisions import Revision, resolve
from tests.conftest import GitRepo
from tests.forges import open_pull_request


def pull_request(number: int, head_sha: str | None, ref: str, head_branch: str) -> Request:
    return Request(
        event_type="pull_request",
        branch="main",
        pull_request_number=number,
        head_sha=head_sha,
        head_branch=head_branch,
        ref=ref,
        fork=False,
    )


@pytest.fixture
def repo(git_repo: Callable[..., GitRepo]) -> GitRepo:
    repo: GitRepo = git_repo()
    repo.commit({"README": "base\n"}, "Base")
    return repo


@pytest.fixture
def mirror(repo: GitRepo, tmp_path: Path) -> Mirror:
    return Mirror(tmp_path / "mirror.git", repo.url)


async def test_the_merge_ref_of_the_current_head_is_built(repo: GitRepo, mirror: Mirror) -> None:
    head, merged = open_pull_request(repo, 7, "feature", {"f": "1"})
    request = pull_request(7, head, "refs/pull/7/merge", "feature")
    assert await resolve(request, mirror) == Revision(str(merged), "refs/pull/7/merge")


async def test_without_a_merge_ref_the_head_ref_is_built(repo: GitRepo, mirror: Mirror) -> None:
    head, _ = open_pull_request(repo, 3, "feature", {"f": "1"}, merge=False)
    request = pull_request(3, head, "refs/pull/3/merge", "feature")
    assert await resolve(request, mirror) == Revision(head, "refs/pull/3/head")


async def test_a_stale_merge_ref_is_not_built(repo: GitRepo, mirror: Mirror) -> None:
    open_pull_request(repo, 4, "feature", {"f": "1"})
    # A new push to the branch: the forge has not made the new merge commit yet.
    repo.git("checkout", "-q", "feature")
    newer = repo.commit({"f": "2"}, "Newer")
    repo.git("update-ref", "refs/pull/4/head", newer)
    repo.git("checkout", "-q", "main")
    request = pull_request(4, newer, "refs/pull/4/merge", "feature")
    assert await resolve(request, mirror) == Revision(newer, "refs/pull/4/head")


async def test_refs_that_moved_on_leave_the_head_commit(repo: GitRepo, mirror: Mirror) -> None:
    head, _ = open_pull_request(repo, 5, "feature", {"f": "1"}, merge=False)
    repo.git("checkout", "-q", "feature")
    repo.git("update-ref", "refs/pull/5/head", repo.commit({"f": "2"}, "Even newer"))
    repo.git("checkout", "-q", "main")
    request = pull_request(5, head, "refs/pull/5/head", "feature")
    assert await resolve(request, mirror) == Revision(head, None)
    assert await mirror.has(head)


async def test_a_pull_request_with_no_refs_and_no_head_is_an_error(
    repo: GitRepo, mirror: Mirror
) -> None:
    with pytest.raises(GitError, match="none of refs/pull/9/merge, refs/pull/9/head"):
        await resolve(pull_request(9, None, "refs/pull/9/merge", "feature"), mirror)


async def test_a_tag_push_fetches_its_tag(repo: GitRepo, mirror: Mirror) -> None:
    tagged = repo.commit({"v": "1"}, "Release")
    repo.git("tag", "-a", "-m", "v1", "v1.0")
    repo.commit({"v": "2"}, "After the release")
    request = Request(event_type="push", tag="v1.0", sha=tagged)
    assert await resolve(request, mirror) == Revision(tagged, None)
    assert (await mirror.commit(tagged)).message == "Release"


async def test_one_read_gives_the_commit_and_a_file_at_it(repo: GitRepo, mirror: Mirror) -> None:
    sha = repo.commit({"sub/.travis.yml": "script: true\n"}, "Title line\n\nBody with\ntwo lines")
    await mirror.fetch_branch("main")

    commit, text = await mirror.commit_and_file(sha, "sub/.travis.yml")
    assert (commit.sha, commit.author, text) == (sha, "Test", "script: true\n")
    assert commit.message == "Title line\n\nBody with\ntwo lines"
    assert (await mirror.commit_and_file(sha, "missing.yml"))[1] is None
    assert (await mirror.commit_and_file(sha, "sub"))[1] is None  # a directory is no file
    with pytest.raises(GitError, match="is not a commit"):
        await mirror.commit_and_file("0" * 40, ".travis.yml")
