"""Notifications of real builds run by a whole instance: email to a real SMTP server, Slack
and Travis-format webhooks to local HTTP receivers (payloads and the RSA signature checked),
`on_*` rules, secure targets, retries, and a dead receiver shown on the build page.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from roundhouse.travisyml.crypto import encrypt, load_public_key
from tests.conftest import GIT_ENV, GitRepo, Running, free_port, wait_for
from tests.receivers import Mailbox, Receiver

Start = Callable[..., Awaitable[Running]]
FAST = {"notify_backoff": 0, "repository_key_bits": 2048}


async def run_build(system: Running, repo: GitRepo, slug: str | None = None) -> dict[str, Any]:
    slug = slug or (await system.add_repo(repo))["slug"]
    build_id = await system.build_of(slug, await system.trigger(slug))
    return await system.finished_build(build_id)


async def delivered(system: Running, build_id: int, count: int) -> list[dict[str, Any]]:
    """The build's notifications once `count` of them are there, all delivered."""

    async def done() -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] = (await system.build(build_id))["notifications"]
        return found if len(found) >= count and all(n["delivered"] for n in found) else None

    result: list[dict[str, Any]] = await wait_for(done, 30, "notifications", every=0.1)
    return result


def webhook_only(url: str, *extra: str) -> str:
    """A passing build's .travis.yml notifying url, with extra lines under `notifications:`."""
    return "language: shell\nscript: true\nnotifications:\n" + "".join(
        f"  {line}\n" for line in (f"webhooks: {url}", *extra)
    )


def verify(public_pem: str, signature: str, payload: str) -> bool:
    try:
        load_public_key(public_pem).verify(
            base64.b64decode(signature), payload.encode(), padding.PKCS1v15(), hashes.SHA1()
        )
    except InvalidSignature:
        return False
    return True


async def test_a_failed_build_mails_the_commit_author_then_fixed(
    start_system: Start, git_repo: Callable[..., GitRepo], smtp_server: Mailbox
) -> None:
    system = await start_system(
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_starttls=False,
        smtp_from="ci@example.com",
        **FAST,
    )
    repo = git_repo()
    sha = repo.commit({".travis.yml": "language: shell\nscript: exit 1\n"}, "Break it")
    slug = (await system.add_repo(repo))["slug"]
    failed = await run_build(system, repo, slug)
    assert failed["state"] == "failed"

    [(to, mail)] = await smtp_server.wait_for_mails(1)
    assert to == [GIT_ENV["GIT_AUTHOR_EMAIL"]]
    assert mail["From"] == "ci@example.com"
    assert mail["Subject"] == f"Failed: {slug}#{failed['number']} (main - {sha[:7]})"
    text = mail.get_content()
    assert f"{system.url}/{slug}/builds/{failed['id']}" in text
    assert "Break it" in text
    [sent] = await delivered(system, failed["id"], 1)
    assert sent | {"at": None} == {
        "event": "failed",
        "channel": "email",
        "target": f"email to {GIT_ENV['GIT_AUTHOR_EMAIL']}",
        "attempts": 1,
        "delivered": True,
        "error": None,
        "at": None,
    }

    repo.commit({".travis.yml": "language: shell\nscript: true\n"}, "Fix it")
    fixed = await run_build(system, repo, slug)
    assert fixed["state"] == "passed"
    mails = await smtp_server.wait_for_mails(2)
    assert mails[1][1]["Subject"].startswith(f"Fixed: {slug}#{fixed['number']} ")


async def test_slack_rooms_and_a_signed_webhook_get_travis_payloads(
    start_system: Start, git_repo: Callable[..., GitRepo], receiver: Receiver
) -> None:
    system = await start_system(slack_url=receiver.url + "/slack/{account}", **FAST)
    repo = git_repo()
    repo.commit({"README": "x\n"})
    slug = (await system.add_repo(repo))["slug"]
    public = (await system.http.get(f"/api/repo/{slug}/key")).json()["key"]
    secret_url = encrypt(public, f"{receiver.url}/secret-hook/abc?token=t0p")
    repo.commit(
        {
            ".travis.yml": (
                "language: shell\n"
                "script: echo fine\n"
                "notifications:\n"
                "  email: false\n"
                "  slack:\n"
                f"    rooms: ['team:s3cret#builds', '{receiver.url}/mattermost/hook#ops']\n"
                "    template: ['%{repository_slug} #%{build_number} %{result} (%{commit})']\n"
                "  webhooks:\n"
                "    urls:\n"
                f"      - {receiver.url}/hook\n"
                f"      - secure: '{secret_url}'\n"
                "    on_start: always\n"
            )
        }
    )
    build = await run_build(system, repo, slug)
    assert build["state"] == "passed"

    [slack] = await receiver.wait_for("/slack/team")
    assert slack.path == "/slack/team?token=s3cret"
    message = json.loads(slack.body)
    assert message["channel"] == "#builds"
    [attachment] = message["attachments"]
    line = f"{slug} #{build['number']} passed ({build['commit']['sha'][:7]})"
    assert (attachment["text"], attachment["fallback"], attachment["color"]) == (
        line,
        line,
        "good",
    )
    [mattermost] = await receiver.wait_for("/mattermost/hook")
    assert json.loads(mattermost.body)["channel"] == "#ops"

    started, finished = await receiver.wait_for("/hook", 2)
    for request in (started, finished):
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert request.headers["travis-repo-slug"] == slug
        payload = parse_qs(request.body.decode())["payload"][0]
        assert verify(public, request.headers["signature"], payload)
        assert not verify(public, request.headers["signature"], payload + " ")
    first = json.loads(parse_qs(started.body.decode())["payload"][0])
    assert (first["state"], first["status_message"], first["result"]) == (
        "started",
        "Pending",
        None,
    )
    data = json.loads(parse_qs(finished.body.decode())["payload"][0])
    owner, name = slug.split("/")
    assert data["id"] == build["id"]
    assert data["number"] == str(build["number"])
    assert (data["state"], data["status"], data["result"]) == ("passed", 0, 0)
    assert data["status_message"] == data["result_message"] == "Passed"
    assert (data["type"], data["branch"], data["commit"]) == (
        "api",
        "main",
        build["commit"]["sha"],
    )
    assert data["build_url"] == f"{system.url}/{slug}/builds/{build['id']}"
    assert data["author_email"] == GIT_ENV["GIT_AUTHOR_EMAIL"]
    assert data["pull_request"] is False
    assert data["repository"] | {"url": None} == {
        "id": build["repository"]["id"],
        "name": name,
        "owner_name": owner,
        "url": None,
    }
    assert [job["number"] for job in data["matrix"]] == [f"{build['number']}.1"]
    assert data["matrix"][0]["state"] == "passed"

    secret = await receiver.wait_for("/secret-hook/abc", 2)
    assert secret[0].path == "/secret-hook/abc?token=t0p"
    found = await delivered(system, build["id"], 6)
    targets = {n["target"] for n in found}
    port = receiver.url.rsplit(":", 1)[1]
    assert targets == {
        "slack team#builds",
        "slack http://127.0.0.1#ops",
        f"webhook http://127.0.0.1:{port}/hook",
        f"webhook http://127.0.0.1:{port}",
    }
    assert all(n["delivered"] for n in found)
    assert not any("s3cret" in json.dumps(n) or "t0p" in json.dumps(n) for n in found)


async def test_on_success_never_and_a_false_if_send_nothing(
    start_system: Start, git_repo: Callable[..., GitRepo], receiver: Receiver
) -> None:
    system = await start_system(**FAST)
    repo = git_repo()
    repo.commit(
        {
            ".travis.yml": (
                "language: shell\n"
                "script: true\n"
                "notifications:\n"
                "  webhooks:\n"
                f"    - urls: {receiver.url}/never\n"
                "      on_success: never\n"
                f"    - urls: {receiver.url}/always\n"
                f"    - urls: {receiver.url}/elsewhere\n"
                "      if: branch = elsewhere\n"
            )
        }
    )
    build = await run_build(system, repo)
    assert build["state"] == "passed"
    # The other target of the same build got its message: the notifier is done with it.
    await receiver.wait_for("/always")
    await system.instance.services.notifier.drain()
    assert receiver.to("/never") == receiver.to("/elsewhere") == []
    assert "skip_notification" in {m["code"] for m in build["messages"]}
    assert [n["target"].rsplit("/", 1)[1] for n in await delivered(system, build["id"], 1)] == [
        "always"
    ]


async def test_a_receiver_failing_twice_gets_the_message_on_the_third_attempt(
    start_system: Start, git_repo: Callable[..., GitRepo], receiver: Receiver
) -> None:
    system = await start_system(**FAST)
    receiver.answers = [500, 503]
    repo = git_repo()
    repo.commit({".travis.yml": webhook_only(f"{receiver.url}/flaky")})
    build = await run_build(system, repo)
    requests = await receiver.wait_for("/flaky", 3)
    assert len({r.body for r in requests}) == 1  # the same message each time
    [notification] = await delivered(system, build["id"], 1)
    assert (notification["attempts"], notification["delivered"], notification["error"]) == (
        3,
        True,
        None,
    )


async def test_a_dead_receiver_shows_on_the_build_page(
    start_system: Start, git_repo: Callable[..., GitRepo]
) -> None:
    system = await start_system(notify_attempts=2, **FAST)
    dead = f"http://127.0.0.1:{free_port()}/gone"
    repo = git_repo()
    repo.commit({".travis.yml": webhook_only(dead)})
    build = await run_build(system, repo)

    async def given_up() -> dict[str, Any] | None:
        found = (await system.build(build["id"]))["notifications"]
        return found[0] if found and found[0]["attempts"] == 2 else None

    notification = await wait_for(given_up, 30, "two failed attempts", every=0.1)
    assert notification["delivered"] is False
    assert notification["error"].startswith(f"webhook {dead} could not be reached (ConnectError")
    page = (await system.http.get(f"/{build['repository']['slug']}/builds/{build['id']}")).text
    assert "not delivered after 2 attempts" in page
    assert f"webhook {dead} could not be reached" in page


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_email_asked_for_without_smtp_says_so(
    start_system: Start, git_repo: Callable[..., GitRepo]
) -> None:
    system = await start_system(**FAST)
    repo = git_repo()
    repo.commit(
        {
            ".travis.yml": (
                "language: shell\nscript: true\nnotifications:\n"
                "  email: [a@example.com]\n  on_success: always\n"
            )
        }
    )
    build = await run_build(system, repo)

    async def refused() -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] = (await system.build(build["id"]))["notifications"]
        return found or None

    [notification] = await wait_for(refused, 30, "the email's outcome", every=0.1)
    assert notification["delivered"] is False
    assert notification["attempts"] == 1
    assert "smtp_host" in notification["error"]
