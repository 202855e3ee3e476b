"""Local accounts and browser sessions over real HTTP: password and token login, the session
cookie's flags, CSRF on every form and on writes made with the cookie, signing out,
suspension, and API tokens shown once, listed and revoked (API and CLI).
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import httpx

from tests.conftest import SQLITE_ONLY, Running
from tests.integration.people import client

ROUNDHOUSE = Path(sys.executable).parent / "roundhouse"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# Sessions are cookies and HTTP: one database is enough (the role tests run both).
pytestmark = SQLITE_ONLY


async def cli(system: Running, *args: str, stdin: str = "", token: str = "") -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDHOUSE_")}
    process = await asyncio.create_subprocess_exec(
        str(ROUNDHOUSE),
        *args,
        "--url",
        system.url,
        "--token",
        token or system.token,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
    assert process.returncode is not None
    return process.returncode, out.decode() + err.decode()


async def login_form(browser: httpx.AsyncClient) -> str:
    """Open the login page as a browser does; returns the CSRF token of its forms."""
    page = await browser.get("/login")
    assert page.status_code == 200
    found = CSRF.search(page.text)
    assert found is not None
    return found.group(1)


async def test_password_login_session_cookie_csrf_and_logout(system: Running) -> None:
    added, output = await cli(
        system, "users", "add", "carol", "--password-stdin", stdin="s3cret-pw\n"
    )
    assert added == 0, output
    async with client(system) as browser:
        csrf = await login_form(browser)
        form = {"login": "carol", "password": "s3cret-pw"}
        forged = await browser.post("/login", data=form)
        assert forged.status_code == 403
        assert "CSRF token is missing" in forged.text  # an HTML page: /login is a page
        wrong = await browser.post("/login", data={**form, "password": "nope", "csrf_token": csrf})
        assert wrong.status_code == 401
        assert "The login and password do not match." in wrong.text

        signed = await browser.post("/login", data={**form, "csrf_token": csrf, "next": "/x"})
        assert (signed.status_code, signed.headers["location"]) == (303, "/x")
        cookie = signed.headers["set-cookie"].lower()
        assert "roundhouse_session=" in cookie and "httponly" in cookie
        assert "samesite=lax" in cookie and "secure" not in cookie  # public_url is http
        assert (await browser.get("/api/user")).json()["login"] == "carol"

        # A write made with the cookie needs the page's token in a header.
        page = await browser.get("/")
        token = CSRF.search(page.text) or re.search(
            r'name="csrf-token" content="([^"]+)"', page.text
        )
        assert token is not None
        assert (await browser.post("/api/tokens", json={})).status_code == 403
        made = await browser.post(
            "/api/tokens", json={"name": "laptop"}, headers={"X-CSRF-Token": token.group(1)}
        )
        assert made.status_code == 201

        assert (await browser.post("/logout", data={})).status_code == 403
        out = await browser.post("/logout", data={"csrf_token": token.group(1)})
        assert out.status_code == 303
        assert (await browser.get("/api/user")).status_code == 401


async def test_token_login_and_suspension_end_the_session(system: Running) -> None:
    made = await system.http.post("/api/users", json={"login": "dave", "password": "passw0rd!"})
    assert made.status_code == 201
    async with client(system) as admin_browser, client(system) as dave_browser:
        csrf = await login_form(admin_browser)
        signed = await admin_browser.post(
            "/login", data={"token": system.token, "csrf_token": csrf}
        )
        assert signed.status_code == 303
        assert (await admin_browser.get("/api/user")).json()["login"] == "admin"

        csrf = await login_form(dave_browser)
        form = {"login": "dave", "password": "passw0rd!", "csrf_token": csrf}
        assert (await dave_browser.post("/login", data=form)).status_code == 303
        await system.http.patch("/api/users/dave", json={"suspended": True})
        assert (await dave_browser.get("/api/user")).status_code == 401
        csrf = await login_form(dave_browser)
        again = await dave_browser.post("/login", data={**form, "csrf_token": csrf})
        assert again.status_code == 401


async def test_tokens_are_shown_once_listed_and_revocable(system: Running) -> None:
    code, output = await cli(system, "tokens", "create", "--name", "ci")
    assert code == 0, output
    token = output.splitlines()[0].strip()
    async with client(system, token) as holder:
        assert (await holder.get("/api/user")).json()["login"] == "admin"
        listed = (await holder.get("/api/tokens")).json()["tokens"]
        assert [t["name"] for t in listed] == ["admin-token", "ci"]
        assert token not in str(listed)
        code, output = await cli(system, "tokens", "list")
        assert code == 0 and " ci " in output and token not in output
        ci_id = next(t["id"] for t in listed if t["name"] == "ci")
        code, output = await cli(system, "tokens", "revoke", str(ci_id))
        assert code == 0, output
        assert (await holder.get("/api/user")).status_code == 401
        # Even what anybody may read: a revoked token is refused, not taken as nobody's.
        public = await holder.get("/api/repos")
        assert public.status_code == 401
        assert public.json()["error"] == ("The API token is not valid: it was revoked.")
    code, output = await cli(system, "tokens", "revoke", str(ci_id))
    assert code == 1
    assert f"You have no token {ci_id}." in output


async def test_users_cli_lists_suspends_and_grants(system: Running) -> None:
    assert (await cli(system, "users", "add", "erin"))[0] == 0
    code, output = await cli(system, "users", "add", "erin")
    assert code == 1 and "A user 'erin' exists already." in output
    assert (await cli(system, "users", "suspend", "erin"))[0] == 0
    code, output = await cli(system, "users", "list")
    assert re.search(r"^erin\s+suspended\s+sync: never$", output, re.MULTILINE), output
    code, output = await cli(system, "users", "grant", "erin", "no/such", "push")
    assert code == 1 and "Repository 'no/such' not found." in output
