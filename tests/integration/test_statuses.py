"""Commit statuses posted to a fake forge API on 127.0.0.1 while real builds run: the request
each forge documents (method, path, auth header, JSON fields), their order, retries, and
failures that are recorded on the build without holding it up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import GitRepo, Running, free_port, wait_for
from tests.forges import FakeForge

TRAVIS_YML = "language: shell\nscript: echo building\n"
PREFIX = {"github": "/api/v3", "gitea": "/api/v1", "gitlab": "/api/v4"}
AUTH = {
    "github": ("authorization", "Bearer forge-token"),
    "gitea": ("authorization", "token forge-token"),
    "gitlab": ("private-token", "forge-token"),
}
STATES = {
    "github": ["pending", "pending", "success"],
    "gitea": ["pending", "pending", "success"],
    "gitlab": ["pending", "running", "success"],
}
DESCRIPTIONS = [
    "The Roundhouse build is pending",
    "The Roundhouse build is in progress",
    "The Roundhouse build passed",
]


async def connected_build(
    system: Running, git_repo: Callable[..., GitRepo], forge: str, api_url: str | None
) -> tuple[str, str, dict[str, Any]]:
    """A repository connected to the forge API at api_url, and its finished build."""
    repo = git_repo()
    sha = repo.commit({".travis.yml": TRAVIS_YML})
    slug = (await system.add_repo(repo))["slug"]
    settings = {"forge": forge, "forge_api_url": api_url, "forge_token": "forge-token"}
    response = await system.http.patch(f"/api/repo/{slug}/settings", json=settings)
    assert response.status_code == 200, response.text
    build = await system.finished_build(await system.build_of(slug, await system.trigger(slug)))
    return slug, sha, build


@pytest.mark.parametrize("forge", ["github", "gitea", "gitlab"])
async def test_each_forge_gets_the_documented_requests_in_order(
    forge: str, system: Running, git_repo: Callable[..., GitRepo], fake_forge: FakeForge
) -> None:
    slug, sha, build = await connected_build(
        system, git_repo, forge, fake_forge.url + PREFIX[forge]
    )
    assert build["state"] == "passed"
    sent = await fake_forge.wait_for_requests(3)

    if forge == "gitlab":
        path = f"/api/v4/projects/{quote(slug, safe='')}/statuses/{sha}"
    else:
        path = f"{PREFIX[forge]}/repos/{slug}/statuses/{sha}"
    header, value = AUTH[forge]
    for request in sent:
        assert (request.method, request.path) == ("POST", path)
        assert request.headers[header] == value
        assert request.headers["content-type"] == "application/json"
    assert [r.json["state"] for r in sent] == STATES[forge]
    assert [r.json["description"] for r in sent] == DESCRIPTIONS
    context_key = "name" if forge == "gitlab" else "context"
    assert {r.json[context_key] for r in sent} == {"continuous-integration/roundhouse/push"}
    assert {r.json["target_url"] for r in sent} == {f"{system.url}/{slug}/builds/{build['id']}"}
    if forge == "github":
        assert sent[0].headers["accept"] == "application/vnd.github+json"
    if forge == "gitlab":
        assert {r.json["ref"] for r in sent} == {"main"}
    assert (await system.build(build["id"]))["status_error"] is None


async def test_server_errors_are_retried_until_the_status_gets_through(
    start_system: Callable[..., Any], git_repo: Callable[..., GitRepo], fake_forge: FakeForge
) -> None:
    system: Running = await start_system(status_backoff=0.01, status_attempts=3)
    fake_forge.answers = [502, 503]  # then 201
    _, _, build = await connected_build(system, git_repo, "github", fake_forge.url)

    sent = await fake_forge.wait_for_requests(5)
    assert [r.json["state"] for r in sent] == ["pending"] * 4 + ["success"]
    assert sent[0].json == sent[2].json  # the same status, sent again
    assert build["state"] == "passed"
    assert (await system.build(build["id"]))["status_error"] is None


async def test_refused_statuses_are_recorded_and_not_retried(
    start_system: Callable[..., Any], git_repo: Callable[..., GitRepo], fake_forge: FakeForge
) -> None:
    system: Running = await start_system(status_backoff=0.01, status_attempts=3)
    fake_forge.answers = [401] * 10
    _, _, build = await connected_build(system, git_repo, "gitea", fake_forge.url)
    assert build["state"] == "passed"  # the forge's answer never holds the build up

    sent = await fake_forge.wait_for_requests(3)
    assert [r.json["state"] for r in sent] == ["pending", "pending", "success"]

    async def recorded_error() -> str | None:
        error: str | None = (await system.build(build["id"]))["status_error"]
        return error

    error = await wait_for(recorded_error, 10, "the status error on the build")
    assert "answered 401" in error
    assert "forge-token" not in error
    page = await system.http.get(f"/{build['repository']['slug']}/builds/{build['id']}")
    assert "The commit status could not be posted" in page.text


async def test_an_unreachable_forge_is_recorded(
    start_system: Callable[..., Any], git_repo: Callable[..., GitRepo]
) -> None:
    system: Running = await start_system(status_backoff=0.01, status_attempts=2)
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    _, _, build = await connected_build(system, git_repo, "gitlab", nobody + "/api/v4")
    assert build["state"] == "passed"

    async def recorded_error() -> str | None:
        error: str | None = (await system.build(build["id"]))["status_error"]
        return error

    assert "failed: ConnectError" in await wait_for(recorded_error, 10, "the status error")


async def test_a_forge_without_an_api_address_is_recorded(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    # The repository's URL is a local path: no API address can be derived from it.
    _, _, build = await connected_build(system, git_repo, "github", None)
    assert build["state"] == "passed"

    async def recorded_error() -> str | None:
        error: str | None = (await system.build(build["id"]))["status_error"]
        return error

    assert "Set forge_api_url" in await wait_for(recorded_error, 10, "the status error")
