"""OAuth login with GitHub Enterprise, Gitea and GitLab against a local provider speaking each
forge's protocol over real HTTP: the user is created on first login, found again on the next,
linked to the signed-in account, and a forged or refused callback signs nobody in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import SQLITE_ONLY, Running, free_port
from tests.integration.people import client
from tests.oauth_provider import CLIENT_ID, CLIENT_SECRET, FakeProvider

FORGES = ["github", "gitea", "gitlab"]


# Logins are HTTP and a few rows: one database is enough (the role tests run both).
pytestmark = SQLITE_ONLY


async def platform_for(
    start_system: Callable[..., Awaitable[Running]], fake: FakeProvider
) -> Running:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    app = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "url": fake.url,
        "callback_url": f"{public}/auth/{fake.forge}/callback",
    }
    return await start_system(listen_port=port, public_url=public, oauth={fake.forge: app})


async def sign_in(browser: httpx.AsyncClient, forge: str) -> httpx.Response:
    """Follow the redirects a browser follows: to the forge's consent, and back."""
    started = await browser.get(f"/auth/{forge}")
    assert started.status_code == 303, started.text
    async with httpx.AsyncClient(timeout=30) as elsewhere:
        consent = await elsewhere.get(started.headers["location"])
    assert consent.status_code == 302, consent.text
    return await browser.get(consent.headers["location"])


@pytest.mark.parametrize("forge", FORGES)
async def test_first_login_creates_the_user_and_the_next_finds_them(
    forge: str, start_system: Any, oauth_provider: Any
) -> None:
    fake: FakeProvider = await oauth_provider(forge)
    system = await platform_for(start_system, fake)
    async with client(system) as browser:
        login_page = await browser.get("/login")
        assert f'href="/auth/{forge}"' in login_page.text
        done = await sign_in(browser, forge)
        assert (done.status_code, done.headers["location"]) == (303, "/")
        me = (await browser.get("/api/user")).json()
    assert (me["login"], me["name"], me["admin"]) == ("octocat", "The Octocat", False)
    assert me["identities"] == [{"provider": forge, "login": "octocat"}]
    exchange = fake.token_requests[0]
    assert exchange["redirect_uri"] == f"{system.url}/auth/{forge}/callback"

    fake.account["login"] = "octocat-renamed"  # renamed on the forge: the same person
    async with client(system) as browser:
        await sign_in(browser, forge)
        again = (await browser.get("/api/user")).json()
    assert (again["id"], again["identities"][0]["login"]) == (me["id"], "octocat-renamed")


async def test_a_signed_in_user_links_the_forge_account_and_names_do_not_collide(
    start_system: Any, oauth_provider: Any
) -> None:
    fake: FakeProvider = await oauth_provider("gitlab")
    system = await platform_for(start_system, fake)
    made = await system.http.post("/api/users", json={"login": "octocat"})
    assert made.status_code == 201
    async with client(system) as browser:
        await sign_in(browser, "gitlab")
        stranger = (await browser.get("/api/user")).json()
    # A local "octocat" is somebody else until they link the account themselves.
    assert stranger["login"] == "octocat-gitlab"

    fake.account["id"] = 99
    async with client(system) as browser:
        page = await browser.get("/login")
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        await browser.post("/login", data={"token": system.token, "csrf_token": csrf})
        await sign_in(browser, "gitlab")
        linked = (await browser.get("/api/user")).json()
    assert (linked["login"], linked["identities"]) == (
        "admin",
        [{"provider": "gitlab", "login": "octocat"}],
    )


async def test_forged_and_refused_callbacks_sign_nobody_in(
    start_system: Any, oauth_provider: Any
) -> None:
    fake: FakeProvider = await oauth_provider("github")
    system = await platform_for(start_system, fake)
    async with client(system) as browser:
        started = await browser.get("/auth/github")
        async with httpx.AsyncClient() as elsewhere:
            consent = await elsewhere.get(started.headers["location"])
        code = consent.headers["location"].split("code=")[1].split("&")[0]
        forged = await browser.get(f"/auth/github/callback?code={code}&state=guessed")
        assert forged.status_code == 401
        assert "was not started here" in forged.text
        assert (await browser.get("/api/user")).status_code == 401

        started = await browser.get("/auth/github")
        state = started.headers["location"].split("state=")[1].split("&")[0]
        refused = await browser.get(f"/auth/github/callback?code=made-up&state={state}")
        assert refused.status_code == 401
        assert "GitHub refused the login code (bad_verification_code)" in refused.text
        assert (await browser.get("/api/user")).status_code == 401
    assert (await client(system).get("/auth/gitea")).status_code == 404
