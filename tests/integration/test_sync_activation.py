"""Activation by the user's choice of what their sync found (API and `roundhouse repo
available|activate`): only admins at the forge may, asked of the forge at that moment; the
repository stays private; others whose sync found it get their roles. And a forge login
keeps its tokens encrypted and syncs the person at once; an expired access token is
refreshed, a revoked login forgotten.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from roundhouse.db.models import Identity, User
from tests.conftest import GitRepo, Running, wait_for
from tests.forge_repos import ForgeRepos, Listed
from tests.integration.people import add_user, client
from tests.integration.test_cli import assert_one_error_line
from tests.integration.test_oauth_login import sign_in
from tests.integration.test_sync import (
    StartSystem,
    as_person,
    forge_person,
    platform_with,
    roles_of,
)
from tests.oauth_provider import FakeProvider

PASSING = "language: shell\nscript:\n  - echo activated\n"


async def test_activation_needs_admin_at_the_forge_and_keeps_the_repository_private(
    start_system: StartSystem, forge_repos: Any, git_repo: Callable[..., GitRepo]
) -> None:
    code = git_repo()
    code.commit({".travis.yml": PASSING})
    forge: ForgeRepos = await forge_repos("github", tokens={"octo-t", "bea-t"})
    forge.per_token = {
        "octo-t": [
            Listed("acme/new", "admin", private=True, clone_url=code.url),
            Listed("acme/pushonly", "push"),
        ],
        "bea-t": [Listed("acme/new", "pull", private=True, clone_url=code.url)],
    }
    system = await platform_with(start_system, forge)
    octo = await forge_person(system, "github", "octo", "octo-t")
    bea = await forge_person(system, "github", "bea", "bea-t")
    eve_token = await add_user(system, "eve")
    runner = system.instance.services.sync
    assert (await runner.sync_user(octo.user_id)).error is None
    assert (await runner.sync_user(bea.user_id)).error is None

    available = await as_person(system, octo, "repo", "available")
    assert [line.split()[1:] for line in available.out.splitlines()] == [
        ["github", "acme/new", "admin", "private"],
        ["github", "acme/pushonly", "push", "public"],
    ]
    refused = await as_person(system, octo, "repo", "activate", "acme/pushonly")
    assert (
        "Activating acme/pushonly needs admin permission on it at GitHub; you have push there."
        in assert_one_error_line(refused)
    )
    # Octo's sync recorded admin, but the forge says otherwise now: the forge decides.
    octo_sees = forge.per_token["octo-t"]
    octo_sees[0] = Listed("acme/new", "pull", private=True, clone_url=code.url)
    lost = await as_person(system, octo, "repo", "activate", "acme/new")
    assert "you have pull there" in assert_one_error_line(lost)
    octo_sees[0] = Listed("acme/new", "admin", private=True, clone_url=code.url)
    async with client(system, bea.token) as http:
        bea_row = (await http.get("/api/user/forge_repos")).json()["forge_repositories"][0]
        not_hers = await http.post(f"/api/user/forge_repos/{bea_row['id']}/activate")
    assert not_hers.status_code == 403  # bea's own row, but she is no admin at the forge

    activated = await as_person(system, octo, "repo", "activate", "acme/new")
    assert activated.out.strip() == (
        "Activated acme/new from github (private); you are its admin."
    ), activated.err
    assert (await roles_of(system, octo.user_id))["acme/new"] == ("admin", True)
    assert (await roles_of(system, bea.user_id))["acme/new"] == ("pull", True)
    async with (
        client(system) as anonymous,
        client(system, eve_token) as eve,
        client(system, bea.token) as bea_http,
        client(system, octo.token) as octo_http,
    ):
        assert (await anonymous.get("/api/repo/acme/new")).status_code == 404
        assert (await eve.get("/api/repo/acme/new")).status_code == 404
        assert (await bea_http.get("/api/repo/acme/new")).json()["role"] == "pull"
        repo = (await octo_http.get("/api/repo/acme/new")).json()
        assert (repo["private"], repo["forge"], repo["url"]) == (True, "github", code.url)
        rows = (await octo_http.get("/api/user/forge_repos")).json()["forge_repositories"]
        assert {r["slug"]: r["active"] for r in rows} == {"acme/new": True, "acme/pushonly": False}
        twice = await octo_http.post(f"/api/user/forge_repos/{rows[0]['id']}/activate")
        assert (twice.status_code, twice.json()["error"]) == (409, "acme/new is active already.")
        someone_elses = await eve.post(f"/api/user/forge_repos/{rows[0]['id']}/activate")
        assert someone_elses.status_code == 404
        triggered = await octo_http.post(
            "/api/repo/acme/new/requests", json={"request": {"branch": "main"}}
        )
    assert triggered.status_code == 202, triggered.text
    build_id = await system.build_of("acme/new", triggered.json()["request"]["id"])
    assert (await system.finished_build(build_id))["state"] == "passed"


# Logins are HTTP and a few rows: one database is enough (the tests above run both).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("forge_name", ["gitea", "gitlab"])
async def test_a_forge_login_keeps_its_tokens_sealed_syncs_at_once_and_refreshes_them(
    forge_name: str, start_system: StartSystem, oauth_provider: Any
) -> None:
    repos = ForgeRepos(forge_name, repos=[Listed("team/site", "admin", private=True)])
    fake: FakeProvider = await oauth_provider(forge_name, routes=repos.routes())
    repos.url, repos.tokens = fake.url, fake.tokens
    system = await platform_with(start_system, repos)

    async with client(system) as browser:
        done = await sign_in(browser, forge_name)
        assert done.status_code == 303, done.text

        async def synced() -> dict[str, Any] | None:
            found: dict[str, Any] = (await browser.get("/api/user/forge_repos")).json()
            return found if found["sync"]["state"] == "synced" else None

        found = await wait_for(synced, 20, "the sync the login started", every=0.1)
    assert [(r["slug"], r["role"], r["private"]) for r in found["forge_repositories"]] == [
        ("team/site", "admin", True)
    ]
    async with system.instance.services.ctx.sessions() as session:
        sealed = await session.scalar(
            select(Identity.token_sealed).join(User).where(User.login == "octocat")
        )
    [token] = fake.tokens
    at_rest = system.instance.services.ctx.at_rest
    assert sealed is not None and sealed.startswith("v1:") and token not in sealed
    assert at_rest.open(sealed) == token

    # The access token expires (GitLab's after two hours): the refresh token gets a new one.
    fake.tokens.clear()
    runner = system.instance.services.sync
    user_id = await _user_id(system, "octocat")
    assert (await runner.sync_user(user_id)).error is None
    [fresh] = fake.tokens
    assert fake.token_requests[-1]["grant_type"] == "refresh_token"
    identity = await _identity(system, user_id)
    assert at_rest.open(identity.token_sealed) == fresh != token
    assert at_rest.open(identity.refresh_sealed) in fake.refresh_tokens  # the rotated one

    # Both revoked on the forge: the person must sign in again, and nothing is tried meanwhile.
    fake.tokens.clear()
    fake.refresh_tokens.clear()
    failed = await runner.sync_user(user_id)
    assert failed.error is not None and "refused the stored login (401" in failed.error
    identity = await _identity(system, user_id)
    assert (identity.token_sealed, identity.refresh_sealed) == (None, None)


async def _user_id(system: Running, login: str) -> int:
    async with system.instance.services.ctx.sessions() as session:
        found = await session.scalar(select(User.id).where(User.login == login))
    assert found is not None
    return found


async def _identity(system: Running, user_id: int) -> Identity:
    async with system.instance.services.ctx.sessions() as session:
        found = await session.scalar(select(Identity).where(Identity.user_id == user_id))
    assert found is not None
    return found
