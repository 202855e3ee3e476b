"""The Settings tab's and the admin dashboard's forms over HTTP, as a browser without JavaScript
posts them (session cookie, the page's CSRF field): they save through the API's functions and
redirect back with a flash message; a bad value comes back next to its field with what was
typed; a post without the token is refused; page errors are HTML, API errors stay JSON.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from html import unescape
from typing import Any

import httpx
from sqlalchemy import select

from roundhouse.db.models import EnvVar
from tests.conftest import SQLITE_ONLY, GitRepo, Running
from tests.integration.people import add_user, grant

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# Forms over HTTP: the API tests cover both databases; one is enough here.
pytestmark = SQLITE_ONLY


@asynccontextmanager
async def browser(system: Running, token: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in through the login form, holding its session cookie only."""
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as http:
        csrf = CSRF.search((await http.get("/login")).text)
        assert csrf is not None
        signed = await http.post(
            "/login", data={"token": token or system.token, "csrf_token": csrf[1]}
        )
        assert signed.status_code == 303, signed.text
        yield http


async def post_form(
    http: httpx.AsyncClient, page: str, action: str, data: dict[str, Any]
) -> httpx.Response:
    """Opens `page`, then posts `data` to `action` with the page's CSRF token, as its form does."""
    csrf = CSRF.search((await http.get(page)).text)
    assert csrf is not None
    return await http.post(action, data={**data, "csrf_token": csrf[1]})


async def project(system: Running, git_repo: Callable[..., GitRepo]) -> str:
    repo = git_repo("forms")
    repo.commit({"README": "x"})
    return str((await system.add_repo(repo))["slug"])


def section(html: str, anchor: str) -> str:
    """The page's section with that heading, its entities decoded."""
    start = html.index(f'id="{anchor}"')
    end = html.find("</section>", start)
    return unescape(html[start:end])


async def test_switches_and_limit_save_and_a_bad_value_comes_back_next_to_its_field(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    slug = await project(system, git_repo)
    page = f"/{slug}/settings"
    async with browser(system) as http:
        saved = await post_form(
            http,
            page,
            page,
            {"build_pushes": "on", "maximum_number_of_builds": "3", "hard_timeout": "600"},
        )
        assert (saved.status_code, saved.headers["location"]) == (303, f"{page}#general")
        shown = (await http.get(page)).text
        assert "Saved the build settings." in shown
        assert 'name="maximum_number_of_builds" value="3"' in shown
        assert 'name="hard_timeout" value="600"' in shown and 'name="log_timeout" value=""' in shown
        # Shown once: the next page has no message.
        assert "Saved the build settings." not in (await http.get(page)).text

        refused = await post_form(
            http, page, page, {"poll": "on", "maximum_number_of_builds": "lots"}
        )
        assert refused.status_code == 422
        general = section(refused.text, "general")
        error_id = "general-maximum_number_of_builds-error"
        assert f'value="lots" aria-invalid="true" aria-describedby="{error_id}"' in general
        assert (
            'id="general-maximum_number_of_builds-error">Input should be a valid integer' in general
        )
        # What was typed is kept: poll ticked, build_pushes not.
        assert 'name="poll" checked' in general and 'name="build_pushes" checked' not in general

    settings = (await system.http.get(f"/api/repo/{slug}/settings")).json()
    assert settings["maximum_number_of_builds"] == 3 and settings["build_pushes"] is True
    assert (settings["hard_timeout"], settings["log_timeout"]) == (600, None)
    assert settings["build_pull_requests"] is False and settings["poll"] is False


async def test_a_secret_is_added_edited_and_never_shown_again(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    slug = await project(system, git_repo)
    page, secret = f"/{slug}/settings", "hunter2-very-secret"
    async with browser(system) as http:
        added = await post_form(
            http, page, f"{page}/env_vars", {"name": "DEPLOY_KEY", "value": secret, "branch": ""}
        )
        assert (added.status_code, added.headers["location"]) == (303, f"{page}#env")
        shown = (await http.get(page)).text
        assert "Added DEPLOY_KEY." in shown and "<code>DEPLOY_KEY</code>" in shown
        assert secret not in shown and "private, never shown" in shown

        public = await post_form(
            http, page, f"{page}/env_vars", {"name": "MODE", "value": "fast", "public": "on"}
        )
        assert public.status_code == 303
        listed = (await system.http.get(f"/api/repo/{slug}/env_vars")).json()["env_vars"]
        ids = {v["name"]: v["id"] for v in listed}
        assert "<code>fast</code>" in (await http.get(page)).text

        # Same name and branch: the API's 409, said above the add form; the typed name stays.
        clash = await post_form(http, page, f"{page}/env_vars", {"name": "MODE", "value": "x"})
        assert clash.status_code == 409
        assert "has a variable MODE for all branches already" in section(clash.text, "env")
        assert 'id="env-name" name="name" value="MODE"' in clash.text
        bad = await post_form(http, page, f"{page}/env_vars", {"name": "1BAD", "value": "x"})
        assert bad.status_code == 422
        assert 'id="env-name-error">a shell variable name' in bad.text

        # Editing a private one without a value keeps its value; making it public needs one.
        edit = f"{page}/env_vars/{ids['DEPLOY_KEY']}"
        renamed = await post_form(http, page, edit, {"name": "DEPLOY_TOKEN", "value": ""})
        assert renamed.status_code == 303
        exposed = await post_form(http, page, edit, {"name": "DEPLOY_TOKEN", "public": "on"})
        assert exposed.status_code == 422
        assert "is private: to make it public, send its new value too" in exposed.text
        assert secret not in exposed.text
        deleted = await post_form(http, page, f"{page}/env_vars/{ids['MODE']}", {"delete": "1"})
        assert deleted.status_code == 303
        assert "Deleted MODE." in (await http.get(page)).text

    async with system.instance.services.ctx.sessions() as session:
        rows = list(await session.scalars(select(EnvVar)))
    assert [(r.name, r.public) for r in rows] == [("DEPLOY_TOKEN", False)]
    assert system.instance.services.ctx.at_rest.open(rows[0].value) == secret


async def test_forms_need_the_csrf_token_and_admin_on_the_repository(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    slug = await project(system, git_repo)
    page = f"/{slug}/settings"
    async with browser(system) as http:
        forged = await http.post(page, data={"maximum_number_of_builds": "9"})
        assert forged.status_code == 403
        assert forged.headers["content-type"].startswith("text/html")
        assert "CSRF token" in forged.text
    writer = await add_user(system, "writer")
    await grant(system, slug, "writer", "push")
    async with browser(system, writer) as http:
        refused = await http.get(page)
        assert refused.status_code == 403 and "this needs admin access" in refused.text
        # The push user has no Settings tab, and may not post the form either.
        tabs = (await http.get(f"/{slug}/requests")).text
        assert "Build history" in tabs and f'href="/{slug}/settings"' not in tabs
        csrf = CSRF.search(tabs)
        assert csrf is not None
        posted = await http.post(
            page, data={"maximum_number_of_builds": "9", "csrf_token": csrf[1]}
        )
        assert posted.status_code == 403
    settings = (await system.http.get(f"/api/repo/{slug}/settings")).json()
    assert settings["maximum_number_of_builds"] == 0


async def test_crons_and_caches_from_the_settings_page(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo("crons")
    repo.commit({"README": "x"})
    added = await system.add_repo(repo)
    slug, page = added["slug"], f"/{added['slug']}/settings"
    for branch, name in (("main", "deps"), ("main", "tools"), ("feature", "deps")):
        stored = await system.http.put(
            f"/api/cache/{added['id']}/{branch}/{name}", content=b"x" * 100
        )
        assert stored.status_code == 201
    async with browser(system) as http:
        missing = await post_form(
            http, page, f"{page}/crons", {"branch": "nope", "interval": "daily"}
        )
        assert missing.status_code == 422
        assert "Branch 'nope' does not exist" in section(missing.text, "crons")
        assert 'id="cron-branch" name="branch" value="nope"' in missing.text
        made = await post_form(
            http, page, f"{page}/crons", {"branch": "main", "interval": "weekly"}
        )
        assert made.status_code == 303
        crons = section((await http.get(page)).text, "crons")
        assert "<td>main</td><td>weekly</td><td>no</td>" in crons

        one = await post_form(
            http, page, f"{page}/caches/delete", {"branch": "main", "name": "deps"}
        )
        assert one.status_code == 303
        caches = (await system.http.get(f"/api/repo/{slug}/caches")).json()["caches"]
        assert sorted((c["branch"], c["name"]) for c in caches) == [
            ("feature", "deps"),
            ("main", "tools"),
        ]
        removed = await post_form(http, page, f"{page}/crons/delete", {"branch": "main"})
        assert removed.status_code == 303
        assert "No cron jobs." in (await http.get(page)).text

    # The API deletes the same way (push users may: caches steer builds).
    everything = await system.http.delete(f"/api/repo/{slug}/caches")
    assert len(everything.json()["caches"]) == 2
    assert (await system.http.get(f"/api/repo/{slug}/caches")).json()["caches"] == []


async def test_admin_suspends_unsuspends_and_asks_for_a_sync(system: Running) -> None:
    await add_user(system, "bob")
    async with browser(system) as http:
        suspended = await post_form(http, "/admin", "/admin/users/bob/suspend", {})
        assert (suspended.status_code, suspended.headers["location"]) == (303, "/admin#users")
        page = (await http.get("/admin")).text
        assert "Suspended bob" in page
        row = re.search(r'<tr id="user-bob">(.*?)</tr>', page, re.S)
        assert row and re.search(r"<td>suspended</td>\s*<td>never</td>", row[1])
        assert 'action="/admin/users/bob/unsuspend"' in row[1]

        # bob never signed in with a forge: there is nothing to sync with, and the page says so.
        asked = await post_form(http, "/admin", "/admin/users/bob/sync", {})
        assert asked.status_code == 303
        admin_page = (await http.get("/admin")).text
        assert "bob has no forge login to sync with" in admin_page
        row = re.search(r'<tr id="user-bob">(.*?)</tr>', admin_page, re.S)
        assert row and "<td>never</td>" in row[1]
        assert (
            await post_form(http, "/admin", "/admin/users/bob/unsuspend", {})
        ).status_code == 303
        self_suspend = await post_form(http, "/admin", "/admin/users/admin/suspend", {})
        assert self_suspend.status_code == 303
        assert "You cannot suspend yourself" in (await http.get("/admin")).text
        assert (await http.post("/admin/users/bob/suspend", data={})).status_code == 403
    users = (await system.http.get("/api/users")).json()["users"]
    assert [(u["login"], u["suspended"]) for u in users] == [("admin", False), ("bob", False)]


async def test_page_errors_are_pages_and_api_errors_stay_json(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    slug = await project(system, git_repo)
    async with browser(system) as http:
        missing = await http.get("/nobody/nothing/builds")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")
        assert (
            "<h1>Not found</h1>" in missing.text
            and "Repository 'nobody/nothing' not found." in unescape(missing.text)
        )
        assert '<a href="/admin">Admin</a>' in missing.text  # the header still knows who it is
        bad = await http.get(f"/{slug}/builds?page=0")
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
        assert "page: Input should be greater than or equal to 1" in bad.text
        api = await http.get("/api/repo/nobody%2Fnothing")
        assert (
            api.status_code == 404
            and api.json()["error"] == "Repository 'nobody/nothing' not found."
        )
    async with httpx.AsyncClient(base_url=system.url) as anonymous:
        away = await anonymous.get("/admin?tab=users")
        assert (away.status_code, away.headers["location"]) == (
            303,
            "/login?next=/admin%3Ftab%3Dusers",
        )
        assert (await anonymous.get("/api/users")).json()["error"].startswith("Sign in")


async def test_cancel_and_restart_buttons_work_as_forms(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo("buttons")
    repo.commit({".travis.yml": "language: shell\nscript: true\n"})
    slug = (await system.add_repo(repo))["slug"]
    build_id = await system.build_of(slug, await system.trigger(slug))
    job_id = (await system.finished_build(build_id))["jobs"][0]["id"]
    job_page = f"/{slug}/jobs/{job_id}"
    async with browser(system) as http:
        # A finished job cannot be canceled: the API's 409, said on the page it came from.
        refused = await post_form(http, job_page, f"{job_page}/cancel", {})
        assert (refused.status_code, refused.headers["location"]) == (303, job_page)
        shown = unescape((await http.get(job_page)).text)
        assert f'role="alert"><p>Job {job_id} is passed; it cannot be canceled.</p>' in shown
        restarted = await post_form(http, job_page, f"{job_page}/restart", {})
        assert restarted.status_code == 303
        assert "Restarted job #1.1." in (await http.get(job_page)).text
    assert (await system.finished_build(build_id))["jobs"][0]["attempt"] == 2
