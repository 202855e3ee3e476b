"""Saving from the browser (Debian's chromium via Playwright, real builds): settings forms that
validate and save without JavaScript, a secret never shown again, CSRF enforced, buttons by
role (a pull user sees no restart button and gets 403 on the action), the admin dashboard's
user actions. Screenshots of these states go to tests/artifacts/pages/, and axe checks them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import SQLITE_ONLY, GitRepo, Running, wait_for
from tests.e2e.test_browser import CHROMIUM
from tests.e2e.test_pages import AXE, SHOTS, check_shown, signed_in, some_builds
from tests.integration.people import add_user, grant

pytestmark = [
    SQLITE_ONLY,
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="chromium is not installed (make browser)"
    ),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core is not fetched (scripts/ensure-axe)"),
]
SECRET = "s3cr3t-value-never-shown"


async def shown_clean(page: Page, name: str) -> None:
    """Screenshot of the state; axe finds nothing serious in it."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert await check_shown(page, SHOTS / f"{name}.png") == []


async def test_settings_validate_and_save_without_javascript_and_a_secret_stays_hidden(
    system: Running, git_repo: Callable[..., GitRepo], browser: Browser
) -> None:
    repo = git_repo("settings")
    repo.commit({"README": "x"})
    slug = (await system.add_repo(repo))["slug"]
    context = await signed_in(browser, system, java_script_enabled=False)
    page = await context.new_page()
    await page.goto(f"{system.url}/{slug}/settings")

    limit = page.get_by_label("Jobs at once (0: no limit of its own)")
    await page.get_by_label("Build pull requests").uncheck()
    await limit.fill("lots")
    await page.get_by_role("button", name="Save build settings").click()
    # Refused: the error next to the field, and nothing that was typed lost.
    await expect(page.locator("#general-maximum_number_of_builds-error")).to_contain_text(
        "Input should be a valid integer"
    )
    await expect(limit).to_have_value("lots")
    await expect(limit).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Build pull requests")).not_to_be_checked()

    await limit.fill("2")
    await page.get_by_role("button", name="Save build settings").click()
    await expect(page.get_by_role("status")).to_have_text("Saved the build settings.")
    await page.reload()
    await expect(page.get_by_role("status")).to_have_count(0)  # a flash is shown once
    await expect(limit).to_have_value("2")
    await expect(page.get_by_label("Build pull requests")).not_to_be_checked()

    await page.get_by_label("Name", exact=True).last.fill("API_SECRET")
    await page.locator("#env-value").fill(SECRET)
    await page.get_by_role("button", name="Add variable").click()
    await expect(page.get_by_role("status")).to_have_text("Added API_SECRET.")
    row = page.locator("table.env-vars tr", has_text="API_SECRET")
    await expect(row).to_contain_text("private, never shown")
    await page.reload()
    assert SECRET not in await page.content()
    # Its edit form asks for a new value; the old one is not in it.
    await row.get_by_text("Edit").click()
    await expect(row.get_by_label("New value (blank keeps it)")).to_have_value("")
    await context.close()

    # The same states with JavaScript on, where axe can run: a refused value, then a saved one.
    context = await signed_in(browser, system)
    page = await context.new_page()
    await page.goto(f"{system.url}/{slug}/settings")
    await page.get_by_label("Jobs at once (0: no limit of its own)").fill("-1")
    await page.get_by_role("button", name="Save build settings").click()
    await expect(page.locator("#general-maximum_number_of_builds-error")).to_be_visible()
    await shown_clean(page, "settings-invalid")
    await page.get_by_label("Jobs at once (0: no limit of its own)").fill("2")
    await page.get_by_role("button", name="Save build settings").click()
    await expect(page.get_by_role("status")).to_have_text("Saved the build settings.")
    await shown_clean(page, "settings-saved")
    await context.close()

    settings = (await system.http.get(f"/api/repo/{slug}/settings")).json()
    assert (settings["maximum_number_of_builds"], settings["build_pull_requests"]) == (2, False)
    listed = (await system.http.get(f"/api/repo/{slug}/env_vars")).json()["env_vars"]
    assert [(v["name"], "value" in v) for v in listed] == [("API_SECRET", False)]


async def test_a_form_posted_without_its_csrf_token_is_refused(
    system: Running, git_repo: Callable[..., GitRepo], browser: Browser
) -> None:
    repo = git_repo("csrf")
    repo.commit({"README": "x"})
    slug = (await system.add_repo(repo))["slug"]
    context = await signed_in(browser, system)
    page = await context.new_page()
    await page.goto(f"{system.url}/{slug}/settings")
    # As a page on another site would post it: the same fields, but no token of this page's.
    await page.evaluate(
        "document.querySelectorAll('input[name=csrf_token]').forEach(i => i.remove())"
    )
    await page.get_by_label("Jobs at once (0: no limit of its own)").fill("7")
    async with page.expect_response(f"{system.url}/{slug}/settings") as answer:
        await page.get_by_role("button", name="Save build settings").click()
    assert (await answer.value).status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    await expect(page.get_by_role("alert")).to_contain_text("lacks the page's CSRF token")
    await shown_clean(page, "csrf-refused")
    await context.close()
    settings = (await system.http.get(f"/api/repo/{slug}/settings")).json()
    assert settings["maximum_number_of_builds"] == 0


async def test_a_pull_user_sees_no_restart_button_and_gets_403_on_the_action(
    system: Running, git_repo: Callable[..., GitRepo], browser: Browser
) -> None:
    data = await some_builds(system, git_repo)
    slug, build_id = data["slug"], data["build"]
    reader = await add_user(system, "reader")
    await grant(system, slug, "reader", "pull")
    context = await signed_in(browser, system, reader)
    page = await context.new_page()
    await page.goto(f"{system.url}/{slug}/builds/{build_id}")
    await expect(page.locator("table.jobs")).to_contain_text("failed")
    await expect(page.get_by_role("button", name=re.compile("Restart|Cancel"))).to_have_count(0)
    await expect(page.get_by_role("link", name="Settings")).to_have_count(0)
    await shown_clean(page, "build-pull-user")
    # The action itself, as the page's script would send it: refused.
    status = await page.evaluate(
        """async (url) => {
          const csrf = document.querySelector('meta[name="csrf-token"]').content;
          const answer = await fetch(url, { method: "POST", headers: { "X-CSRF-Token": csrf } });
          return answer.status;
        }""",
        f"/api/build/{build_id}/restart",
    )
    assert status == 403
    await page.goto(f"{system.url}/{slug}/jobs/{data['job']}")
    await expect(page.get_by_role("button", name="Restart job")).to_have_count(0)
    settings = await page.goto(f"{system.url}/{slug}/settings")
    assert settings is not None and settings.status == 403
    await expect(page.get_by_role("alert")).to_contain_text("this needs admin access")
    await context.close()

    # The admin has the buttons, and they work without JavaScript too (a form each).
    context = await signed_in(browser, system, java_script_enabled=False)
    page = await context.new_page()
    await page.goto(f"{system.url}/{slug}/builds/{build_id}")
    await expect(page.get_by_role("link", name="Settings")).to_be_visible()
    await page.get_by_role("button", name="Restart build").click()
    await expect(page).to_have_url(f"{system.url}/{slug}/builds/{build_id}")
    await expect(page.get_by_role("status")).to_have_text("Restarted build #2.")

    async def restarted() -> bool:
        return bool((await system.build(build_id))["jobs"][0]["attempt"] == 2)

    await wait_for(restarted, 20, "the build to restart", every=0.2)
    await context.close()


async def test_admin_suspends_and_unsuspends_a_user_from_the_dashboard(
    system: Running, browser: Browser
) -> None:
    await add_user(system, "bob")
    context = await signed_in(browser, system)
    page = await context.new_page()
    await page.goto(f"{system.url}/admin")
    row = page.locator("#user-bob")
    await expect(row).to_contain_text("never")  # its sync state
    await row.get_by_role("button", name="Suspend bob").click()
    await expect(page.get_by_role("status")).to_contain_text("Suspended bob")
    await expect(row).to_contain_text("suspended")
    await shown_clean(page, "admin-suspended")
    await row.get_by_role("button", name="Sync bob").click()
    await expect(page.get_by_role("alert")).to_contain_text("bob has no forge login to sync")
    await row.get_by_role("button", name="Unsuspend bob").click()
    await expect(page.get_by_role("status")).to_have_text("bob may sign in again.")
    await context.close()
    users = (await system.http.get("/api/users")).json()["users"]
    bob = next(u for u in users if u["login"] == "bob")
    assert (bob["suspended"], bob["sync"]["state"]) == (False, "never")
