"""A real browser (Debian's chromium via Playwright) signs in with a password, and the build
page's restart button works with the session cookie and its CSRF header; signing out ends it.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.async_api import async_playwright, expect

from tests.conftest import GitRepo, Running, wait_for
from tests.e2e import test_browser as browser_tests
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.integration.people import grant

# Chromium only where it is installed, and one database: as the other browser tests.
pytestmark = browser_tests.pytestmark


async def test_sign_in_restart_a_build_and_sign_out(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": "language: shell\nscript: echo restarted-from-the-browser\n"})
    slug = (await system.add_repo(repo))["slug"]
    build_id = await system.build_of(slug, await system.trigger(slug))
    job_id = (await system.finished_build(build_id))["jobs"][0]["id"]
    made = await system.http.post("/api/users", json={"login": "pat", "password": "long-enough"})
    assert made.status_code == 201
    await grant(system, slug, "pat", "push")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(f"{system.url}/login")
            await page.get_by_label("Login").fill("pat")
            await page.get_by_label("Password").fill("long-enough")
            await page.get_by_role("button", name="Sign in").first.click()
            await expect(page.locator("header .who")).to_contain_text("pat")

            await page.goto(f"{system.url}/{slug}/builds/{build_id}")
            await page.get_by_role("button", name="Restart build").click()

            async def restarted() -> bool:
                return (await system.job(job_id))["attempt"] == 2

            await wait_for(restarted, 20, "the build restarted from the browser", every=0.2)

            await page.get_by_role("button", name="Sign out").click()
            await expect(page.locator("header .who")).to_contain_text("Sign in")
        finally:
            await browser.close()
