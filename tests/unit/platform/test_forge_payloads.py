"""Each forge module on the payloads the forges published (tests/fixtures/webhooks): what
the event asks for, which repository it names, its signature and its delivery id.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest
from starlette.datastructures import Headers

from roundhouse.platform.forge import FORGES, gitea, github, gitlab
from roundhouse.platform.forge.common import (
    ForgeEvent,
    Malformed,
    PullRequest,
    RepositoryRef,
    host_root,
)
from tests.forges import (
    FIXTURES,
    fixture,
    fixture_bytes,
    gitea_headers,
    github_headers,
    gitlab_headers,
)

SECRET = "It's a Secret to Everybody"


def test_fixtures_are_the_published_bytes() -> None:
    for line in (FIXTURES / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        assert hashlib.sha256(fixture_bytes(name)).hexdigest() == digest, name


def test_github_signature_matches_the_documented_test_vector() -> None:
    headers = Headers(
        {
            "X-Hub-Signature-256": "sha256="
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        }
    )
    assert github.verify(headers, b"Hello, World!", SECRET)
    assert not github.verify(headers, b"Hello, World?", SECRET)
    assert not github.verify(headers, b"Hello, World!", SECRET + "!")


@pytest.mark.parametrize(
    ("forge", "sign", "name"),
    [
        (github, github_headers, "github/push.branch.json"),
        (gitea, gitea_headers, "gitea/push.json"),
        (gitlab, gitlab_headers, "gitlab/push.json"),
    ],
)
def test_signatures_and_delivery_ids(forge: Any, sign: Any, name: str) -> None:
    body = fixture_bytes(name)
    headers = Headers(sign(body, SECRET, "push", delivery="d-1"))
    assert forge.verify(headers, body, SECRET)
    assert not forge.verify(headers, body, "another secret")
    assert not forge.verify(Headers({}), body, SECRET)
    assert forge.delivery_id(headers) == "d-1"
    if forge is not gitlab:  # GitLab sends the token itself: it does not cover the body
        assert not forge.verify(headers, body.replace(b"a", b"b", 1), SECRET)


def test_forgejo_headers_are_understood() -> None:
    body = fixture_bytes("gitea/push.forgejo-docs.json")
    digest = gitea_headers(body, SECRET, "push")["X-Gitea-Signature"]
    headers = Headers(
        {"X-Forgejo-Signature": digest, "X-Forgejo-Delivery": "f-1", "X-Forgejo-Event": "push"}
    )
    assert gitea.verify(headers, body, SECRET)
    assert gitea.delivery_id(headers) == "f-1"
    assert gitea.parse(headers, fixture("gitea/push.forgejo-docs.json")).branch == "develop"


def test_gitlab_delivery_id_falls_back_to_the_event_uuid() -> None:
    assert gitlab.delivery_id(Headers({"X-Gitlab-Event-UUID": "u-1"})) == "u-1"


def parse(forge: Any, event: str, name: str) -> ForgeEvent:
    header = {"github": "X-GitHub-Event", "gitea": "X-Gitea-Event", "gitlab": "X-Gitlab-Event"}
    result: ForgeEvent = forge.parse(Headers({header[forge.NAME]: event}), fixture(name))
    return result


@pytest.mark.parametrize(
    ("forge", "event", "name", "expected"),
    [
        (
            github,
            "push",
            "github/push.branch.json",
            {"branch": "main", "sha": "366701fde727cb7a9e7f21eb88264f59f6f9b89c"},
        ),
        (github, "push", "github/push.forced.json", {"branch": "main"}),
        (github, "push", "github/push.branch-created.json", {"branch": "master"}),
        (
            github,
            "push",
            "github/push.tag-created.json",
            {"tag": "v0.0.1", "branch": None, "sha": "d2b75aa7797ec26b088fa2dd527e9d2c052fcedd"},
        ),
        (github, "push", "github/push.tag-created.ghes.json", {"tag": "simple-tag"}),
        (
            gitea,
            "push",
            "gitea/push.json",
            {"branch": "develop", "sha": "bffeb74224043ba2feb48d137756c8a9331c449a"},
        ),
        (
            gitlab,
            "Push Hook",
            "gitlab/push.json",
            {
                "branch": "master",
                "sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
                "sender": "jsmith",
            },
        ),
        (
            gitlab,
            "Tag Push Hook",
            "gitlab/tag_push.json",
            {"tag": "v1.0.0", "sha": "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7"},
        ),
    ],
)
def test_pushes(forge: Any, event: str, name: str, expected: dict[str, Any]) -> None:
    result = parse(forge, event, name)
    assert result.kind == "push"
    assert result.pull_request is None
    for key, value in expected.items():
        assert getattr(result, key) == value, key


def test_push_carries_the_head_commit_message_and_sender() -> None:
    result = parse(github, "push", "github/push.branch.json")
    assert result.message.startswith("Fix multiline secrets replacer (#700)")
    assert result.sender == "6543"
    gitea_push = parse(gitea, "push", "gitea/push.json")
    assert gitea_push.message  # from the commit whose id is `after`
    assert gitea_push.sender == "gitea"


@pytest.mark.parametrize(
    ("forge", "event", "name", "reason"),
    [
        (github, "push", "github/push.branch-deleted.json", "refs/heads/feature-branch was"),
        (github, "push", "github/push.tag-deleted.json", "refs/tags/simple-tag was deleted"),
        (github, "create", "github/create.tag.json", "create event builds nothing"),
        (github, "delete", "github/delete.tag.json", "delete event builds nothing"),
        (github, "ping", "github/ping.json", "ping"),
        (github, "repository", "github/repository.created.json", "repository event"),
        (github, "pull_request", "github/pull_request.closed.json", "#2 was closed"),
        (gitea, "pull_request", "gitea/pull_request.closed.json", "#1 was closed"),
    ],
)
def test_ignored_events_say_why(forge: Any, event: str, name: str, reason: str) -> None:
    result = parse(forge, event, name)
    assert result.kind == "ignored"
    assert reason in result.reason


def test_gitlab_deleted_branch_is_ignored() -> None:
    # GitLab documents no deletion example; a deletion is a push whose `after` is all zeros.
    payload = fixture("gitlab/push.json") | {"after": "0" * 40, "checkout_sha": None}
    result = gitlab.parse(Headers({}), payload)
    assert result.kind == "ignored"
    assert result.reason == "refs/heads/master was deleted"


GITHUB_PR = PullRequest(
    number=2,
    title="Update the README with new information.",
    base_branch="master",
    head_branch="changes",
    head_sha="ec26c3e57ca3a959ca5aad62de7213c562f8c821",
    head_slug="Codertocat/Hello-World",
    fork=False,
    ref="refs/pull/2/merge",
)


@pytest.mark.parametrize("action", ["opened", "synchronize", "reopened"])
def test_github_pull_requests(action: str) -> None:
    result = parse(github, "pull_request", f"github/pull_request.{action}.json")
    assert result.kind == "pull_request"
    assert result.branch == "master"
    assert result.sender == "Codertocat"
    assert result.pull_request == GITHUB_PR


def test_gitea_pull_requests_build_the_head_ref() -> None:
    opened = parse(gitea, "pull_request", "gitea/pull_request.opened.json")
    assert opened.pull_request == PullRequest(
        number=1,
        title="Add License File",
        base_branch="master",
        head_branch="feature",
        head_sha=opened.pull_request.head_sha if opened.pull_request else "",
        head_slug="jcitizen/my-repo",
        fork=False,
        ref="refs/pull/1/head",
    )
    synced = parse(gitea, "pull_request", "gitea/pull_request.synchronized.json")
    assert synced.pull_request is not None
    assert synced.pull_request.head_sha == "788ed8d02d3b7fcfcf6386dbcbca696aa1d4dc25"
    assert synced.pull_request.fork is False  # from repo_id: this capture has no head.repo
    assert synced.pull_request.head_slug is None


def test_gitlab_merge_request() -> None:
    result = parse(gitlab, "Merge Request Hook", "gitlab/merge_request.json")
    assert result.kind == "pull_request"
    assert result.sender == "root"
    assert result.pull_request == PullRequest(
        number=1,
        title="MS-Viewport",
        base_branch="master",
        head_branch="ms-viewport",
        head_sha="da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
        head_slug="awesome_space/awesome_project",
        fork=False,
        ref="refs/merge-requests/1/merge",
    )


@pytest.mark.parametrize(
    ("attributes", "built"),
    [
        ({"action": "update", "oldrev": "b" * 40}, True),
        ({"action": "update"}, False),  # title, labels: nothing new to build
        ({"action": "reopen"}, True),
        ({"action": "merge"}, False),
        ({"action": "close"}, False),
    ],
)
def test_gitlab_merge_request_actions(attributes: dict[str, Any], built: bool) -> None:
    payload = fixture("gitlab/merge_request.json")
    payload["object_attributes"].update(attributes)
    assert (gitlab.parse(Headers({}), payload).kind == "pull_request") is built


def fork_of(payload: dict[str, Any], head_repo: dict[str, Any] | None) -> dict[str, Any]:
    """The published same-repository example with its head moved to another repository
    (no published fork example exists; see the fixtures' README)."""
    changed = copy.deepcopy(payload)
    changed["pull_request"]["head"]["repo"] = head_repo
    return changed


def test_github_fork_detection() -> None:
    payload = fixture("github/pull_request.opened.json")
    fork = {"id": 1, "full_name": "someone/Hello-World"}
    result = github.parse(Headers({"X-GitHub-Event": "pull_request"}), fork_of(payload, fork))
    assert result.pull_request is not None
    assert (result.pull_request.fork, result.pull_request.head_slug) == (
        True,
        "someone/Hello-World",
    )
    gone = github.parse(Headers({"X-GitHub-Event": "pull_request"}), fork_of(payload, None))
    assert gone.pull_request is not None
    assert (gone.pull_request.fork, gone.pull_request.head_slug) == (True, None)


def test_gitlab_fork_detection() -> None:
    payload = fixture("gitlab/merge_request.json")
    payload["object_attributes"]["source_project_id"] = 99
    result = gitlab.parse(Headers({}), payload)
    assert result.pull_request is not None and result.pull_request.fork


@pytest.mark.parametrize(
    ("forge", "name", "expected"),
    [
        (
            github,
            "github/pull_request.opened.json",
            RepositoryRef(
                "Codertocat/Hello-World",
                (
                    "https://github.com/Codertocat/Hello-World.git",
                    "git@github.com:Codertocat/Hello-World.git",
                    "git://github.com/Codertocat/Hello-World.git",
                    "https://github.com/Codertocat/Hello-World",
                    "https://github.com/Codertocat/Hello-World",
                ),
            ),
        ),
        (github, "github/installation.created.json", None),
        (
            gitlab,
            "gitlab/push.json",
            RepositoryRef(
                "mike/diaspora",
                (
                    "http://example.com/mike/diaspora.git",
                    "git@example.com:mike/diaspora.git",
                    "http://example.com/mike/diaspora.git",
                    "git@example.com:mike/diaspora.git",
                    "http://example.com/mike/diaspora",
                    "git@example.com:mike/diaspora.git",
                ),
            ),
        ),
    ],
)
def test_repository_named_by_the_payload(
    forge: Any, name: str, expected: RepositoryRef | None
) -> None:
    assert forge.repository(fixture(name)) == expected


def test_gitea_repository() -> None:
    named = gitea.repository(fixture("gitea/push.json"))
    assert named is not None
    assert named.full_name == "gitea/webhooks"
    assert "http://localhost:3000/gitea/webhooks.git" in named.urls


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"repository": {}}, r"The payload has no ref\."),
        ({"ref": "refs/heads/x"}, r"The payload has no after\."),
    ],
)
def test_a_push_without_its_fields_is_malformed(payload: dict[str, Any], problem: str) -> None:
    with pytest.raises(Malformed, match=problem):
        github.parse(Headers({"X-GitHub-Event": "push"}), payload)


def test_a_pull_request_without_a_number_is_malformed() -> None:
    payload = fixture("github/pull_request.opened.json")
    payload["pull_request"]["number"] = "two"
    with pytest.raises(Malformed, match=r"pull_request\.number is not a number"):
        github.parse(Headers({"X-GitHub-Event": "pull_request"}), payload)


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("https://github.com/a/b.git", "https://github.com"),
        ("http://127.0.0.1:3000/a/b.git", "http://127.0.0.1:3000"),
        ("git@gitlab.example.com:a/b.git", "https://gitlab.example.com"),
        ("ssh://git@gitea.example.com:2222/a/b.git", "https://gitea.example.com"),
        ("file:///srv/git/a/b", None),
        ("/srv/git/a/b", None),
    ],
)
def test_host_root(url: str, root: str | None) -> None:
    assert host_root(url) == root


def test_default_api_urls() -> None:
    assert FORGES["github"].default_api_url("https://github.com/a/b") == "https://api.github.com"
    assert (
        FORGES["github"].default_api_url("https://ghe.example.com/a/b.git")
        == "https://ghe.example.com/api/v3"
    )
    assert FORGES["gitea"].default_api_url("https://try.gitea.io/a/b.git") == (
        "https://try.gitea.io/api/v1"
    )
    assert FORGES["gitlab"].default_api_url("git@gitlab.com:a/b.git") == (
        "https://gitlab.com/api/v4"
    )
    assert FORGES["gitlab"].default_api_url("/srv/git/a/b") is None
