"""A pull request from webhook to commit status, for real: GitHub's published pull_request
payload, signed, names a local git repository that has GitHub's refs/pull/N refs; the local
worker checks out the merge commit and runs the job; a fake GitHub API records the statuses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.conftest import GitRepo, Running, wait_for
from tests.forges import ConnectRepo, FakeForge, deliver, fixture, open_pull_request

SLUG = "Codertocat/Hello-World"  # the repository of GitHub's pull_request examples
SHOW_ENV = """\
language: shell
script:
  - echo "PR=$TRAVIS_PULL_REQUEST BRANCH=$TRAVIS_PULL_REQUEST_BRANCH EVENT=$TRAVIS_EVENT_TYPE"
  - echo "HEAD=$TRAVIS_PULL_REQUEST_SHA SLUG=$TRAVIS_PULL_REQUEST_SLUG BASE=$TRAVIS_BRANCH"
  - echo "COMMIT=$TRAVIS_COMMIT CHECKED_OUT=$(git rev-parse HEAD)"
  - test -f from-the-pull-request
"""


def pull_request_event(name: str, head_sha: str) -> bytes:
    """GitHub's published example, with its head moved onto the local repository's commit."""
    payload = fixture(name)
    payload["pull_request"]["head"]["sha"] = head_sha
    return json.dumps(payload).encode()


async def build_of_delivery(system: Running, response: Any) -> int:
    assert response.status_code == 202, response.text
    return await system.build_of(SLUG, response.json()["request"]["id"])


async def test_pull_request_webhook_builds_the_merge_commit_and_posts_statuses(
    system: Running,
    git_repo: Callable[..., GitRepo],
    connect_repo: ConnectRepo,
    fake_forge: FakeForge,
) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": SHOW_ENV, "README.md": "hello\n"}, "Add the build")
    head, merged = open_pull_request(repo, 2, "changes", {"from-the-pull-request": "yes\n"})
    await connect_repo(
        system, repo, SLUG, forge="github", forge_api_url=fake_forge.url, forge_token="gh-token"
    )

    body = pull_request_event("github/pull_request.opened.json", head)
    delivered = await deliver(system, "github", body, "pull_request")
    build_id = await build_of_delivery(system, delivered)
    build = await system.finished_build(build_id)

    assert build["state"] == "passed"
    assert build["event_type"] == "pull_request"
    assert (build["pull_request_number"], build["branch"]) == (2, "master")
    assert build["pull_request_title"] == "Update the README with new information."
    assert build["pull_request"]["head_sha"] == head
    assert build["pull_request"]["ref"] == "refs/pull/2/merge"
    assert build["pull_request"]["fork"] is False
    assert build["commit"]["sha"] == merged
    assert build["commit"]["message"] == "Change on changes"  # the head's, not "Merge …"
    log = await system.log(build["jobs"][0]["id"])
    assert "PR=2 BRANCH=changes EVENT=pull_request" in log
    assert f"HEAD={head} SLUG={SLUG} BASE=master" in log
    assert f"COMMIT={merged} CHECKED_OUT={merged}" in log
    assert "$ git fetch origin +refs/pull/2/merge:" in log

    sent = await fake_forge.wait_for_requests(3)
    assert [(r.method, r.path) for r in sent] == [("POST", f"/repos/{SLUG}/statuses/{head}")] * 3
    assert [r.json["state"] for r in sent] == ["pending", "pending", "success"]
    assert {r.headers["authorization"] for r in sent} == {"Bearer gh-token"}
    assert {r.json["context"] for r in sent} == {"continuous-integration/roundhouse/pr"}
    assert {r.json["target_url"] for r in sent} == {f"{system.url}/{SLUG}/builds/{build_id}"}
    page = await system.http.get(f"/{SLUG}/builds/{build_id}")
    assert "Pull request <strong>#2</strong>" in page.text


async def test_a_new_push_to_the_pull_request_cancels_its_running_build(
    system: Running, git_repo: Callable[..., GitRepo], connect_repo: ConnectRepo
) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": "language: shell\nscript: echo base\n"}, "Base")
    slow, _ = open_pull_request(
        repo, 2, "changes", {".travis.yml": "language: shell\nscript: sleep 300\n"}
    )
    await connect_repo(system, repo, SLUG, auto_cancel_pull_requests=True)
    opened = pull_request_event("github/pull_request.opened.json", slow)
    first = await build_of_delivery(system, await deliver(system, "github", opened, "pull_request"))

    async def running() -> bool:
        return (await system.build(first))["state"] == "started"

    await wait_for(running, 20, "the first build of the pull request to start")
    # A push to the branch; GitHub has not remade refs/pull/2/merge yet, so it is stale.
    repo.git("checkout", "-q", "changes")
    fast = repo.commit({".travis.yml": "language: shell\nscript: echo fast\n"}, "Faster")
    repo.git("update-ref", "refs/pull/2/head", fast)
    repo.git("checkout", "-q", "main")
    synchronized = pull_request_event("github/pull_request.synchronize.json", fast)
    second = await build_of_delivery(
        system, await deliver(system, "github", synchronized, "pull_request")
    )

    assert (await system.finished_build(first))["state"] == "canceled"
    number = (await system.build(second))["number"]
    note = f"Canceled automatically: build #{number} is newer on pull request #2."

    async def noted() -> bool:
        return note in [m["text"] for m in (await system.build(first))["messages"]]

    await wait_for(noted, 10, "the note on the canceled build")
    newer = await system.finished_build(second)
    assert newer["state"] == "passed"
    assert (newer["commit"]["sha"], newer["pull_request"]["ref"]) == (fast, "refs/pull/2/head")
