"""POST /hooks/{github,gitea,gitlab} on a running Roundhouse (SQLite and PostgreSQL), with the
forges' published payloads signed here: every answer, what is recorded, settings, auto-cancel.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from sqlalchemy import func, select

from roundhouse.db.models import Request, WebhookDelivery
from tests.conftest import GitRepo, Running, wait_for
from tests.forges import (
    SECRET,
    ConnectRepo,
    deliver,
    fixture,
    fixture_bytes,
)

PR_SLUG = "Codertocat/Hello-World"  # the repository of GitHub's pull_request examples


async def recorded(system: Running) -> tuple[int, int]:
    """(requests, webhook deliveries) in the database."""
    async with system.instance.services.ctx.sessions() as session:
        requests = await session.scalar(select(func.count()).select_from(Request))
        deliveries = await session.scalar(select(func.count()).select_from(WebhookDelivery))
    return int(requests or 0), int(deliveries or 0)


async def request_of(system: Running, slug: str, request_id: int) -> dict[str, Any]:
    """The request once the gatekeeper has processed it."""

    async def finished() -> dict[str, Any] | None:
        requests = (await system.http.get(f"/api/repo/{slug}/requests")).json()["requests"]
        found: dict[str, Any] = next(r for r in requests if r["id"] == request_id)
        return found if found["state"] == "finished" else None

    result: dict[str, Any] = await wait_for(finished, 20, f"request {request_id} to be processed")
    return result


def push_payload(name: str, sha: str, branch: str = "main") -> bytes:
    """A published GitHub push example moved onto a commit of the local repository."""
    payload = fixture(name)
    payload["ref"] = f"refs/heads/{branch}"
    payload["after"] = payload["head_commit"]["id"] = sha
    return json.dumps(payload).encode()


async def test_rejected_deliveries_record_nothing(
    start_system: Callable[..., Any], git_repo: Callable[..., GitRepo], connect_repo: ConnectRepo
) -> None:
    system: Running = await start_system(webhook_max_bytes=64 * 1024)
    await connect_repo(system, git_repo(), PR_SLUG)
    body = fixture_bytes("github/pull_request.opened.json")
    before = await recorded(system)

    wrong = await deliver(system, "github", body, "pull_request", secret="not the secret")
    assert wrong.status_code == 401
    assert "not signed with the webhook secret" in wrong.json()["error"]
    unsigned = await deliver(system, "github", body, "pull_request", **{"X-Hub-Signature-256": ""})
    assert unsigned.status_code == 401
    truncated = await deliver(system, "github", body[: len(body) // 2], "pull_request")
    assert truncated.status_code == 400
    assert "not valid JSON" in truncated.json()["error"]
    listed = await deliver(system, "github", b"[1, 2]", "pull_request")
    assert listed.status_code == 400
    unknown = await deliver(system, "github", fixture_bytes("github/push.branch.json"), "push")
    assert unknown.status_code == 404
    assert "woodpecker-ci/woodpecker" in unknown.json()["error"]
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    form = await deliver(system, "github", b"payload=%7B%7D", "push", **form_type)
    assert form.status_code == 415
    malformed = json.loads(body)
    del malformed["pull_request"]["head"]
    broken = await deliver(system, "github", json.dumps(malformed).encode(), "pull_request")
    assert (broken.status_code, broken.json()["error"]) == (
        400,
        "The payload has no pull_request.head.",
    )
    async with httpx.AsyncClient(base_url=system.url) as client:
        nowhere = await client.post("/hooks/bitbucket", content=body)
    assert nowhere.status_code == 404

    big = json.dumps({"repository": {"full_name": PR_SLUG}, "pad": "x" * 100_000}).encode()
    too_big = await deliver(system, "github", big, "push")
    assert too_big.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):  # no Content-Length: the limit holds while reading
            yield b" " * 10_000

    async with httpx.AsyncClient(base_url=system.url) as client:
        streamed = await client.post("/hooks/github", content=chunks())
        assert streamed.status_code == 413

    assert await recorded(system) == before


async def test_ignored_events_answer_200_with_the_reason(
    system: Running, git_repo: Callable[..., GitRepo], connect_repo: ConnectRepo
) -> None:
    await connect_repo(system, git_repo(), PR_SLUG)
    before = await recorded(system)
    cases = [
        ("github/pull_request.closed.json", "pull_request", "was closed"),
        ("github/push.tag-deleted.json", "push", "refs/tags/simple-tag was deleted"),
        ("github/create.tag.json", "create", "create event builds nothing"),
        ("github/delete.tag.json", "delete", "delete event builds nothing"),
        ("github/installation.created.json", "installation", "names no repository"),
    ]
    for name, event, reason in cases:
        response = await deliver(system, "github", fixture_bytes(name), event)
        assert response.status_code == 200, (name, response.text)
        assert response.json()["ignored"] is True
        assert reason in response.json()["reason"], name

    ping = fixture("github/ping.json")
    ping["repository"]["full_name"] = PR_SLUG
    pong = await deliver(system, "github", json.dumps(ping).encode(), "ping")
    assert pong.status_code == 200
    assert "signature is right" in pong.json()["reason"]
    assert await recorded(system) == before


async def test_a_push_builds_once_and_a_replay_is_409(
    system: Running, git_repo: Callable[..., GitRepo], connect_repo: ConnectRepo
) -> None:
    repo = git_repo()
    sha = repo.commit({".travis.yml": "language: shell\nscript: echo pushed\n"})
    slug = "woodpecker-ci/woodpecker"
    await connect_repo(system, repo, slug)
    body = push_payload("github/push.branch.json", sha)

    accepted = await deliver(system, "github", body, "push", delivery="delivery-1")
    assert accepted.status_code == 202, accepted.text
    request_id = accepted.json()["request"]["id"]
    replay = await deliver(system, "github", body, "push", delivery="delivery-1")
    assert replay.status_code == 409
    assert "delivery-1" in replay.json()["error"]

    request = await request_of(system, slug, request_id)
    assert (request["event_type"], request["branch"], request["sender"]) == ("push", "main", "6543")
    assert request["commit"]["sha"] == sha
    assert request["commit"]["message"].startswith("Fix multiline secrets replacer")
    build = await system.finished_build(request["build_id"])
    assert build["state"] == "passed"
    assert (await recorded(system))[1] >= 1
    requests = (await system.http.get(f"/api/repo/{slug}/requests")).json()["requests"]
    assert len(requests) == 1


async def test_a_tag_push_builds_the_tag(
    system: Running, git_repo: Callable[..., GitRepo], connect_repo: ConnectRepo
) -> None:
    repo = git_repo()
    sha = repo.commit({".travis.yml": "language: shell\nscript: echo TAG=$TRAVIS_TAG\n"})
    repo.git("tag", "v0.0.1")
    repo.commit({"later.txt": "after the tag"}, "Later")
    slug = "bradrydzewski/drone-test-go"
    await connect_repo(system, repo, slug)
    payload = fixture("github/push.tag-created.json")
    payload["after"] = payload["head_commit"]["id"] = sha

    response = await deliver(system, "github", json.dumps(payload).encode(), "push")

    request = await request_of(system, slug, response.json()["request"]["id"])
    assert (request["tag"], request["branch"]) == ("v0.0.1", None)
    build = await system.finished_build(request["build_id"])
    assert (build["state"], build["commit"]["sha"]) == ("passed", sha)
    assert "TAG=v0.0.1" in await system.log(build["jobs"][0]["id"])


async def test_gitea_and_gitlab_pushes_are_requests(
    system: Running, git_repo: Callable[..., GitRepo], connect_repo: ConnectRepo
) -> None:
    await connect_repo(system, git_repo(), "gitea/webhooks")
    await connect_repo(system, git_repo(), "mike/diaspora")

    gitea = await deliver(system, "gitea", fixture_bytes("gitea/push.json"), "push")
    gitlab = await deliver(system, "gitlab", fixture_bytes("gitlab/push.json"), "Push Hook")
    wrong_token = await deliver(
        system, "gitlab", fixture_bytes("gitlab/push.json"), "Push Hook", secret="guess"
    )

    assert (gitea.status_code, gitlab.status_code, wrong_token.status_code) == (202, 202, 401)
    # The published commits are not in these local repositories: recorded, then errored.
    from_gitea = await request_of(system, "gitea/webhooks", gitea.json()["request"]["id"])
    assert (from_gitea["branch"], from_gitea["sender"]) == ("develop", "gitea")
    from_gitlab = await request_of(system, "mike/diaspora", gitlab.json()["request"]["id"])
    assert (from_gitlab["branch"], from_gitlab["sender"]) == ("master", "jsmith")
    assert from_gitlab["commit"]["sha"] == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    assert from_gitlab["result"] == "errored"
    assert "Could not read the repository" in from_gitlab["reason"]


async def test_build_settings_turn_requests_away_with_the_reason(
    system: Running, git_repo: Callable[..., GitRepo], connect_repo: ConnectRepo
) -> None:
    repo = git_repo()
    sha = repo.commit({".travis.yml": "language: shell\nscript: echo hi\n"})
    await connect_repo(system, repo, PR_SLUG, build_pull_requests=False, build_pushes=False)

    pull = await deliver(
        system, "github", fixture_bytes("github/pull_request.opened.json"), "pull_request"
    )
    pushed = push_payload("github/push.branch-created.json", sha)
    push = await deliver(system, "github", pushed, "push")

    rejected = await request_of(system, PR_SLUG, pull.json()["request"]["id"])
    assert rejected["result"] == "rejected"
    assert "build_pull_requests" in rejected["reason"]
    assert rejected["pull_request"]["number"] == 2
    assert (
        "build_pushes"
        in (await request_of(system, PR_SLUG, push.json()["request"]["id"]))["reason"]
    )


async def test_a_newer_push_cancels_the_running_build_of_its_branch(
    system: Running, git_repo: Callable[..., GitRepo], connect_repo: ConnectRepo
) -> None:
    repo = git_repo()
    slow = repo.commit({".travis.yml": "language: shell\nscript: sleep 300\n"}, "Slow")
    slug = "woodpecker-ci/woodpecker"
    await connect_repo(system, repo, slug, auto_cancel_pushes=True)
    first = await deliver(system, "github", push_payload("github/push.branch.json", slow), "push")
    first_build = (await request_of(system, slug, first.json()["request"]["id"]))["build_id"]

    async def running() -> bool:
        return (await system.build(first_build))["state"] == "started"

    await wait_for(running, 20, "the first build to start")
    fast = repo.commit({".travis.yml": "language: shell\nscript: echo fast\n"}, "Fast")
    second = await deliver(system, "github", push_payload("github/push.branch.json", fast), "push")
    second_build = (await request_of(system, slug, second.json()["request"]["id"]))["build_id"]

    assert (await system.finished_build(first_build))["state"] == "canceled"
    number = (await system.build(second_build))["number"]
    note = f"Canceled automatically: build #{number} is newer on branch main."

    async def noted() -> bool:
        return note in [m["text"] for m in (await system.build(first_build))["messages"]]

    await wait_for(noted, 10, "the note on the canceled build")
    assert (await system.finished_build(second_build))["state"] == "passed"


async def test_repository_settings_api(
    system: Running, git_repo: Callable[..., GitRepo], connect_repo: ConnectRepo
) -> None:
    await connect_repo(system, git_repo(), PR_SLUG)
    url = f"/api/repo/{PR_SLUG}/settings"
    initial = (await system.http.get(url)).json()
    assert initial["build_pushes"] and initial["build_pull_requests"]
    assert not initial["auto_cancel_pushes"] and not initial["auto_cancel_pull_requests"]
    assert initial["webhook_secret_set"] and not initial["forge_token_set"]

    change = {
        "forge": "github",
        "forge_api_url": "https://ghe.example.com/api/v3/",
        "forge_token": "t0k3n",
    }
    changed = (await system.http.patch(url, json=change)).json()
    assert changed["forge"] == "github"
    assert changed["forge_api_url"] == "https://ghe.example.com/api/v3"
    assert changed["forge_token_set"] is True
    assert "t0k3n" not in json.dumps(changed) + (await system.http.get(f"/api/repo/{PR_SLUG}")).text
    assert SECRET not in json.dumps(changed)

    cleared = (await system.http.patch(url, json={"forge_token": None, "poll": False})).json()
    assert cleared["forge_token_set"] is False and cleared["poll"] is False
    assert (await system.http.patch(url, json={"forge": "bitbucket"})).status_code == 422
    assert (await system.http.patch(url, json={"forge_api_url": "ftp://x"})).status_code == 422
    assert (await system.http.patch(url, json={"colour": "red"})).status_code == 422
    async with httpx.AsyncClient(base_url=system.url) as anonymous:
        assert (await anonymous.get(url)).status_code == 401
