"""A real browser (Debian's chromium via Playwright) watches a running job's log grow live,
without reloading the page.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from tests.conftest import SQLITE_ONLY, GitRepo, Running, wait_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these, chromium tries to reach Google's hosts on this offline machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    SQLITE_ONLY,
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="chromium is not installed (make browser)"
    ),
]


async def test_running_job_page_shows_new_log_lines_live(
    system: Running, git_repo: Callable[..., GitRepo], tmp_path: Path
) -> None:
    marker = tmp_path / "go-on"
    repo = git_repo()
    # printf keeps the words apart in the echoed command, so only the output matches.
    script = (
        f'printf "first-%s\\n" line; while [ ! -e {marker} ]; do sleep 0.05; done; '
        'printf "second-%s\\n" line'
    )
    repo.commit({".travis.yml": f"language: shell\nscript:\n  - '{script}'\n"})
    slug = (await system.add_repo(repo))["slug"]
    build_id = await system.build_of(slug, await system.trigger(slug))
    job_id = (await system.build(build_id))["jobs"][0]["id"]

    async def printed_first() -> bool:
        return "first-line\n" in await system.log(job_id)

    await wait_for(printed_first, 20, "the job to print its first line")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(f"{system.url}/{slug}/jobs/{job_id}")
            log = page.locator("#log")
            await expect(log).to_contain_text("first-line", timeout=10_000)
            await expect(log).not_to_contain_text("second-line")
            await expect(page.locator("#job-summary .state")).to_have_text("started")

            navigations: list[str] = []
            page.on("framenavigated", lambda frame: navigations.append(frame.url))
            marker.touch()

            await expect(log).to_contain_text("second-line", timeout=10_000)
            await expect(page.locator("#job-summary .state")).to_have_text("passed", timeout=10_000)
            line = page.locator("#log .line", has_text="second-line")
            assert (await line.locator(".n").inner_text()).isdigit()
            assert navigations == []  # it grew in place, no reload
        finally:
            await browser.close()
