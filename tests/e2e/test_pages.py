"""Every page in a real browser (Debian's chromium via Playwright), with real builds: an
accessibility check (axe-core, scripts/ensure-axe) in light and dark themes and at a phone's
width, keyboard use, reading without JavaScript, and live title and favicon. Screenshots of
every page go to tests/artifacts/pages/ for review.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from roundhouse.platform.sessions import SESSION_COOKIE
from tests.conftest import SQLITE_ONLY, GitRepo, Running, wait_for
from tests.e2e.test_browser import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".cache" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "tests" / "artifacts" / "pages"
PHONE = {"width": 390, "height": 844}

pytestmark = [
    SQLITE_ONLY,
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="chromium is not installed (make browser)"
    ),
]

# The violations axe finds, each as "rule (impact): first elements"; serious and critical only.
AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => {
      const where = v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ");
      return v.id + " (" + v.impact + "): " + where;
    });
}"""

FAILING = """#!/bin/bash
printf 'travis_fold:start:setup\\r\\033[0K'
echo "setting up"
printf 'travis_fold:end:setup\\r\\033[0K'
printf '\\033[31;1mThe command "make" exited with 2.\\033[0m\\n'
exit 2
"""


async def signed_in(
    browser: Browser, system: Running, token: str | None = None, **options: Any
) -> BrowserContext:
    """A browser context with the session of the token's user (the admin's by default), made
    through the login form (its CSRF field included) as a browser would."""
    async with httpx.AsyncClient(base_url=system.url) as http:
        form = await http.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf is not None, form.text
        sent = {"token": token or system.token, "csrf_token": csrf[1]}
        answer = await http.post("/login", data=sent)
        assert answer.status_code == 303, answer.text
        session = http.cookies[SESSION_COOKIE]
    context = await browser.new_context(**options)
    await context.add_cookies([{"name": SESSION_COOKIE, "value": session, "url": system.url}])
    return context


async def some_builds(system: Running, git_repo: Callable[..., GitRepo]) -> dict[str, Any]:
    """A repository with a passed build on main and a failed one on a branch."""
    repo = git_repo("pages")
    repo.commit({".travis.yml": "language: shell\nscript: echo fine\n"})
    slug = (await system.add_repo(repo))["slug"]
    passed = await system.build_of(slug, await system.trigger(slug))
    await system.finished_build(passed)
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit({".travis.yml": "language: shell\nscript: bash ci.sh\n", "ci.sh": FAILING})
    failed = await system.build_of(slug, await system.trigger(slug, branch="feature"))
    build = await system.finished_build(failed)
    return {"slug": slug, "build": failed, "job": build["jobs"][0]["id"]}


def pages(data: dict[str, Any]) -> dict[str, str]:
    slug = data["slug"]
    return {
        "repositories": "/",
        "login": "/login",
        "current": f"/{slug}",
        "build-history": f"/{slug}/builds",
        "branches": f"/{slug}/branches",
        "pull-requests": f"/{slug}/pull_requests",
        "requests": f"/{slug}/requests",
        "settings": f"/{slug}/settings",
        "build": f"/{slug}/builds/{data['build']}",
        "job": f"/{slug}/jobs/{data['job']}",
        "admin": "/admin",
    }


async def check_page(page: Page, url: str, shot: Path) -> list[str]:
    """Loads the page, saves its screenshot and returns axe's serious or critical findings."""
    await page.goto(url)
    if "/jobs/" in url:
        await expect(page.locator("#log.complete")).to_be_attached(timeout=15_000)
    return await check_shown(page, shot)


async def check_shown(page: Page, shot: Path) -> list[str]:
    """The page as it is now: its screenshot, and axe's serious or critical findings."""
    await page.screenshot(path=str(shot), full_page=True)
    await page.add_script_tag(path=str(AXE))
    found: list[str] = await page.evaluate(AXE_RUN)
    return found


@pytest.mark.skipif(not AXE.exists(), reason="axe-core is not fetched (scripts/ensure-axe)")
async def test_every_page_passes_axe_in_both_themes_and_on_a_phone(
    system: Running, git_repo: Callable[..., GitRepo], browser: Browser
) -> None:
    data = await some_builds(system, git_repo)
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    variants = {
        "light": {"color_scheme": "light"},
        "dark": {"color_scheme": "dark"},
        "phone": {"viewport": PHONE, "color_scheme": "light", "is_mobile": True},
    }
    for variant, options in variants.items():
        context = await signed_in(browser, system, **options)
        page = await context.new_page()
        for name, path in pages(data).items():
            found = await check_page(page, system.url + path, SHOTS / f"{name}-{variant}.png")
            problems += [f"{name} ({variant}): {p}" for p in found]
            # Nothing wider than a phone: wide tables scroll inside their own box.
            width = await page.evaluate("document.documentElement.scrollWidth")
            if variant == "phone" and width > PHONE["width"]:
                problems.append(f"{name} (phone): {width} px wide")
        await context.close()
    assert not problems, "\n".join(problems)


async def test_pages_read_without_javascript_and_work_from_the_keyboard(
    system: Running, git_repo: Callable[..., GitRepo], browser: Browser
) -> None:
    data = await some_builds(system, git_repo)
    slug = data["slug"]
    context = await signed_in(browser, system, java_script_enabled=False)
    page = await context.new_page()
    await page.goto(f"{system.url}/")
    await expect(page.locator("table.list")).to_contain_text(slug)
    await page.get_by_label("Find a repository").fill("pages")
    await page.get_by_role("button", name="Search").click()
    await expect(page).to_have_url(f"{system.url}/?q=pages")
    await page.goto(f"{system.url}/{slug}/branches")
    await expect(page.locator("table.list")).to_contain_text("feature")
    await page.goto(f"{system.url}/{slug}/builds/{data['build']}")
    await expect(page.locator("table.jobs")).to_contain_text("failed")
    await page.goto(f"{system.url}/{slug}/jobs/{data['job']}")
    # The log viewer needs JavaScript; the raw log, linked instead, does not.
    await expect(page.get_by_role("link", name="raw log", exact=True)).to_be_visible()
    await context.close()

    context = await signed_in(browser, system)
    page = await context.new_page()
    await page.goto(f"{system.url}/{slug}/builds")
    # The first Tab reaches the skip link, which takes the focus to the content.
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_in_viewport()
    await page.keyboard.press("Enter")
    await expect(page.locator("main#live")).to_be_focused()
    # The tabs are links in the tab order; the current one is marked.
    await expect(page.get_by_role("link", name="Build history")).to_have_attribute(
        "aria-current", "page"
    )
    await page.get_by_role("link", name="Branches").focus()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(f"{system.url}/{slug}/branches")
    await context.close()


async def test_build_page_title_and_favicon_follow_the_build_live(
    system: Running, git_repo: Callable[..., GitRepo], browser: Browser, tmp_path: Path
) -> None:
    marker = tmp_path / "go-on"
    repo = git_repo("live")
    script = f"while [ ! -e {marker} ]; do sleep 0.05; done"
    repo.commit({".travis.yml": f"language: shell\nscript: '{script}'\n"})
    slug = (await system.add_repo(repo))["slug"]
    context = await signed_in(browser, system)
    listing = await context.new_page()
    await listing.goto(f"{system.url}/")
    build_id = await system.build_of(slug, await system.trigger(slug))

    async def started() -> bool:
        return (await system.build(build_id))["state"] == "started"

    await wait_for(started, 20, "the build to start")
    page = await context.new_page()
    await page.goto(f"{system.url}/{slug}/builds/{build_id}")
    await expect(page).to_have_title(f"started · {slug} #1")
    icon = page.locator("link[rel=icon]")
    await expect(icon).to_have_attribute("href", "/static/icons/running.svg")
    # The repositories list, opened before the build existed, shows it without a reload.
    await expect(listing.locator("table.list")).to_contain_text("#1", timeout=10_000)

    # The running job's page: its log and its state over one event connection.
    job_page = await context.new_page()
    streams: list[str] = []
    job_page.on(
        "request",
        lambda r: streams.append(r.url) if "/api/events" in r.url or "/log/" in r.url else None,
    )
    job_id = (await system.build(build_id))["jobs"][0]["id"]
    await job_page.goto(f"{system.url}/{slug}/jobs/{job_id}")
    await expect(job_page.locator("#log")).to_contain_text("$ while", timeout=10_000)

    marker.touch()
    await expect(job_page.locator("#log.complete")).to_be_attached(timeout=15_000)
    await expect(job_page).to_have_title(f"passed · {slug} job #1.1", timeout=15_000)
    assert [url.split("?")[0] for url in streams] == [f"{system.url}/api/events"], streams
    await expect(page).to_have_title(f"passed · {slug} #1", timeout=15_000)
    await expect(icon).to_have_attribute("href", "/static/icons/passed.svg")
    await expect(page.locator("section.summary .state")).to_have_text("passed")
    await expect(listing.locator("table.list .state")).to_have_text("passed", timeout=10_000)
    await context.close()
