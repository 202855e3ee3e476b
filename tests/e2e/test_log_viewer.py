"""The job log viewer in a real browser (Debian's chromium via Playwright): Travis folds,
line links and ranges, search, follow mode, and a 200,000-line log.

Each job's log is under the test's control: the repository holds a `ci.sh` that prints the
Travis markers itself with printf.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import SQLITE_ONLY, GitRepo, Running, wait_for
from tests.e2e.test_browser import CHROMIUM

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = [
    SQLITE_ONLY,
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="chromium is not installed (make browser)"
    ),
]

# A log with a closed fold (with a timed command), a fold holding the failing command, and
# enough lines after it to scroll.
FOLDED_SCRIPT = r"""#!/bin/bash
fold() { printf 'travis_fold:%s:%s\r\033[0K' "$1" "$2"; }
fold start setup
printf 'travis_time:start:aa01\r\033[0K$ ./setup --quick\n'
for i in $(seq 1 40); do echo "setup output $i"; done
echo "needle-in-setup"
printf 'travis_time:end:aa01:start=1,finish=2,duration=2500000000,event=setup\r\033[0K\n'
fold end setup
fold start tests
printf '$ make check\n'
for i in $(seq 1 20); do echo "test output $i"; done
printf '\033[31;1mThe command "make check" exited with 2.\033[0m\n'
fold end tests
for i in $(seq 1 80); do echo "after $i"; done
exit 1
"""


async def start_job(
    system: Running, git_repo: Callable[..., GitRepo], script: str
) -> tuple[str, int, int]:
    """A repository whose job runs `script` as ci.sh; returns (slug, build id, job id)."""
    repo = git_repo()
    repo.commit({".travis.yml": "language: shell\nscript: bash ci.sh\n", "ci.sh": script})
    slug = (await system.add_repo(repo))["slug"]
    build_id = await system.build_of(slug, await system.trigger(slug))
    job_id = (await system.build(build_id))["jobs"][0]["id"]
    return slug, build_id, job_id


async def finished_job(
    system: Running, git_repo: Callable[..., GitRepo], script: str, timeout: float = 30
) -> tuple[str, int, int]:
    slug, build_id, job_id = await start_job(system, git_repo, script)
    await system.finished_build(build_id, timeout)
    return slug, build_id, job_id


async def line_number(page: Page, text: str) -> int:
    """The number of the log line that holds `text` exactly."""
    line = page.locator("#log .line", has=page.get_by_text(text, exact=True))
    return int(await line.locator(".n").text_content() or "0")


async def open_log(page: Page, url: str) -> None:
    await page.goto(url)
    await expect(page.locator("#log.complete")).to_be_attached(timeout=15_000)


async def test_folds_failing_section_line_links_and_search(
    system: Running, git_repo: Callable[..., GitRepo], browser: Browser
) -> None:
    slug, build_id, job_id = await finished_job(system, git_repo, FOLDED_SCRIPT)
    job_url = f"{system.url}/{slug}/jobs/{job_id}"
    page = await browser.new_page()
    await open_log(page, job_url)

    # The setup fold is closed, named, and shows its travis_time duration; the fold holding
    # the failing command is open.
    setup = page.locator("details.fold", has=page.locator(".fold-name", has_text="setup"))
    tests = page.locator("details.fold", has=page.locator(".fold-name", has_text="tests"))
    await expect(setup).not_to_have_attribute("open", "")
    await expect(setup.locator("summary .duration")).to_have_text("2.50s")
    await expect(tests).to_have_attribute("open", "")
    failure = page.locator("#log .line.failure", has_text='"make check" exited with 2')
    await expect(failure).to_be_visible()
    await expect(page.get_by_text("setup output 7", exact=True)).to_be_hidden()
    # No marker text reaches the page.
    await expect(page.locator("#log")).not_to_contain_text("travis_")

    # Folds open and close, with the mouse and with the keyboard.
    await setup.locator("summary").click()
    await expect(setup).to_have_attribute("open", "")
    await expect(page.get_by_text("setup output 7", exact=True)).to_be_visible()
    await setup.locator("summary").focus()
    await page.keyboard.press("Enter")
    await expect(setup).not_to_have_attribute("open", "")
    await page.screenshot(path=str(ARTIFACTS / "job-log.png"), full_page=True)

    # A line link to a line inside the closed fold opens it, scrolls to it and highlights it.
    target = await line_number(page, "setup output 30")
    await page.goto(f"{job_url}#L{target}")
    linked = page.locator(f"#L{target}")
    await expect(linked).to_have_class("line linked")
    await expect(setup).to_have_attribute("open", "")
    await expect(linked).to_be_in_viewport()

    # Shift-click on a second line number makes a range.
    end = await line_number(page, "after 5")
    await page.locator(f"#L{end} .n").click(modifiers=["Shift"])
    await expect(page).to_have_url(f"{job_url}#L{target}-L{end}")
    await expect(page.locator("#log .line.linked")).to_have_count(end - target + 1)

    # A range in a fresh page's address is highlighted too.
    fresh = await browser.new_page()
    await open_log(fresh, f"{job_url}#L{target}-L{target + 3}")
    await expect(fresh.locator("#log .line.linked")).to_have_count(4)
    await expect(fresh.locator(f"#L{target}")).to_be_in_viewport()

    # Search finds a line inside a closed fold and opens the fold.
    searching = await browser.new_page()
    await open_log(searching, job_url)
    folded = searching.locator(
        "details.fold", has=searching.locator(".fold-name", has_text="setup")
    )
    await expect(folded).not_to_have_attribute("open", "")
    await searching.locator("#log-search").fill("needle-in")
    await searching.locator("#log-search").press("Enter")
    current = searching.locator("#log .line.match-current")
    await expect(current).to_contain_text("needle-in-setup")
    await expect(current).to_be_in_viewport()
    await expect(folded).to_have_attribute("open", "")
    await expect(searching.locator("#search-count")).to_have_text("1 of 1")
    # Enter again goes round to the same (only) match; Shift-Enter goes backwards.
    await searching.locator("#log-search").fill("output 1")
    await searching.locator("#log-search").press("Enter")
    await expect(searching.locator("#search-count")).to_have_text("1 of 22")
    await searching.locator("#log-search").press("Shift+Enter")
    await expect(searching.locator("#search-count")).to_have_text("22 of 22")

    build_page = await browser.new_page()
    await build_page.goto(f"{system.url}/{slug}/builds/{build_id}")
    await expect(build_page.locator("table.jobs")).to_be_visible()
    await build_page.screenshot(path=str(ARTIFACTS / "build.png"), full_page=True)


async def test_follow_stops_when_the_user_scrolls_up(
    system: Running, git_repo: Callable[..., GitRepo], browser: Browser, tmp_path: Path
) -> None:
    marker = tmp_path / "go-on"
    script = (
        'for i in $(seq 1 300); do echo "early $i"; done\n'
        f"while [ ! -e {marker} ]; do sleep 0.05; done\n"
        'for i in $(seq 1 300); do echo "late $i"; done\n'
    )
    slug, _, job_id = await start_job(system, git_repo, script)

    async def printed_early() -> bool:
        return "early 300\n" in await system.log(job_id)

    await wait_for(printed_early, 20, "the job to print its first lines")
    page = await browser.new_page(viewport={"width": 1000, "height": 600})
    await page.goto(f"{system.url}/{slug}/jobs/{job_id}")
    follow = page.locator("#follow")
    await expect(follow).to_be_checked()
    # Following: the newest line is on screen.
    await expect(page.get_by_text("early 300", exact=True)).to_be_in_viewport()

    await page.mouse.move(500, 300)
    await page.mouse.wheel(0, -3000)
    await expect(follow).not_to_be_checked()
    # Back at the bottom, it follows again; up once more, it stops.
    await page.keyboard.press("End")
    await expect(follow).to_be_checked()
    await page.mouse.wheel(0, -3000)
    await expect(follow).not_to_be_checked()

    where = await page.evaluate("window.scrollY")
    marker.touch()
    await expect(page.locator("#log.complete")).to_be_attached(timeout=15_000)
    # Not following: the page stayed where the user put it (the late lines, far below, are
    # not even in the DOM yet).
    assert await page.evaluate("window.scrollY") == where
    await expect(page.get_by_text("late 300", exact=True)).to_have_count(0)

    # The button takes the reader to the end and follows again.
    await follow.check()
    await expect(page.get_by_text("late 300", exact=True)).to_be_in_viewport()


async def test_a_200000_line_log_renders_without_freezing(
    system: Running, git_repo: Callable[..., GitRepo], browser: Browser
) -> None:
    script = "seq -f 'big log line %g' 1 200000\n"
    slug, _, job_id = await finished_job(system, git_repo, script, timeout=60)
    page = await browser.new_page()
    await page.goto(f"{system.url}/{slug}/jobs/{job_id}")
    # The first screen comes first (the deadline is generous; bench/ui.py measures it).
    await expect(page.get_by_text("big log line 1", exact=True)).to_be_visible(timeout=10_000)
    # The tab stays responsive while the rest is read, batch by batch: the search box takes
    # input at once. (bench/ui.py times the whole log.)
    await page.locator("#log-search").fill("big log line 150000")
    await expect(page.locator("#log-search")).to_have_value("big log line 150000")
    await expect(page.locator("#log.complete")).to_be_attached(timeout=60_000)
    # Only the lines near the screen are in the DOM, not all 200,000.
    assert await page.locator("#log .line").count() < 5000
    # Search finds a line whose part of the log was never on screen, and shows it.
    await page.locator("#log-search").press("Enter")
    current = page.locator("#log .line.match-current")
    await expect(current).to_have_text("150010big log line 150000")
    await expect(current).to_be_in_viewport()
    assert await page.locator("#log .line").count() < 5000
    # The raw log streams out whole.
    raw = await page.request.get(f"{system.url}/api/job/{job_id}/log.txt")
    assert (await raw.text()).count("big log line ") == 200_000


MATRIX_YML = """language: python
python: ["3.11", "3.12"]
env: [MODE=fast, MODE=slow]
script: "true"
jobs:
  allow_failures:
    - python: "3.12"
      env: MODE=slow
  include:
    - stage: deploy
      python: "3.11"
      script: "true"
"""


async def test_build_page_groups_the_matrix_by_stage(
    system: Running, git_repo: Callable[..., GitRepo], browser: Browser
) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": MATRIX_YML})
    slug = (await system.add_repo(repo))["slug"]
    build_id = await system.build_of(slug, await system.trigger(slug))
    page = await browser.new_page()
    await page.goto(f"{system.url}/{slug}/builds/{build_id}")
    await expect(page.locator("h2.stage")).to_have_text(["Stage: test", "Stage: deploy"])
    test_stage = page.locator("section.stage").first
    # The varying keys are the columns.
    headers = test_stage.locator("thead th")
    await expect(headers.filter(has_text="python")).to_have_count(1)
    await expect(headers.filter(has_text="env")).to_have_count(1)
    await expect(test_stage.locator("tbody:not(.allowed-failures) tr")).to_have_count(3)
    allowed = test_stage.locator("tbody.allowed-failures tr[class^=row-]")
    await expect(allowed).to_have_count(1)
    await expect(allowed).to_contain_text("3.12")
    await expect(allowed).to_contain_text("MODE=slow")
    await page.screenshot(path=str(ARTIFACTS / "build-matrix.png"), full_page=True)
