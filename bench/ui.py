"""The job log viewer's figures in Debian's chromium: how soon a finished 200,000-line job's
page shows its first screen, and how long until the whole log is in the page.
Run with `python -m bench.ui [LINE_BYTES]` (default lines of 250 bytes: a 50 MB log).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from playwright.async_api import async_playwright
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS

from bench.system import running_platform

LINES = 200_000
# Page HTML received, DOMContentLoaded, first byte of log.txt, all of log.txt received.
BREAKDOWN = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const log = performance.getEntriesByType("resource").find((e) => e.name.endsWith("log.txt"));
  const r = (x) => Math.round(x);
  const mark = (name) => performance.getEntriesByName(name).map((m) => r(m.startTime))[0];
  return { html: r(nav.responseEnd), domContentLoaded: r(nav.domContentLoadedEventEnd),
           viewerStart: mark("log-viewer-start"), firstLines: mark("log-first-lines"),
           logFirstByte: log ? r(log.responseStart) : null,
           logAll: log ? r(log.responseEnd) : null };
}"""
ROUNDS = 5
# Records the longest time between animation frames (a frozen tab shows as a gap), and the
# first frame with the first output line visible.
FRAMES = """window.__gap = 0; let last = performance.now();
const tick = (t) => {
  window.__gap = Math.max(window.__gap, t - last);
  last = t;
  if (!window.__shown) {
    for (const el of document.querySelectorAll("#log .line")) {
      if (el.offsetParent && el.textContent.endsWith(FIRST_LINE)) {
        window.__shown = Math.round(t);
        break;
      }
    }
  }
  requestAnimationFrame(tick);
};
requestAnimationFrame(tick);"""


def travis_yml(line_bytes: int) -> str:
    # Each line: its number padded with zeros to line_bytes - 1 characters, then "\n".
    return f"language: shell\nscript: seq -f '%0{line_bytes - 1}g' 1 {LINES}\n"


async def measure(url: str, first_line: str) -> list[tuple[float, float, float]]:
    """(first line visible, all lines in, longest gap between frames) in ms, per round."""
    results = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(ROUNDS):
                page = await browser.new_page()
                # Gaps between frames, and when the first output line was painted.
                await page.add_init_script(FRAMES.replace("FIRST_LINE", repr(first_line)))
                started = time.perf_counter()
                await page.goto(url, wait_until="commit")
                # The first line of the command's output (the clone before it is folded away).
                shown = page.get_by_text(first_line, exact=True)
                await shown.wait_for(state="visible", timeout=60_000)
                first = time.perf_counter() - started
                await page.locator("#log.complete").wait_for(state="attached", timeout=300_000)
                everything = time.perf_counter() - started
                gap = float(await page.evaluate("window.__gap"))
                results.append((first * 1000, everything * 1000, gap))
                # The viewer keeps only the lines near the screen in the DOM.
                print("  log lines in the DOM:", await page.locator("#log .line").count())
                print(
                    "  where the first screen's time goes (ms from navigation start):",
                    await page.evaluate(BREAKDOWN),
                    "first line painted:",
                    await page.evaluate("window.__shown"),
                )
                await page.close()
        finally:
            await browser.close()
    return results


def main() -> None:
    line_bytes = int(sys.argv[1]) if len(sys.argv) > 1 else 250
    with running_platform(workers=1) as bench:
        slug = bench.repo("biglog", travis_yml(line_bytes))
        build_id = bench.build_of(slug, bench.trigger(slug))
        build = bench.finished(build_id, timeout=600, every=0.5)
        job_id = bench.http.get(f"/api/build/{build_id}").json()["jobs"][0]["id"]
        size = len(bench.http.get(f"/api/job/{job_id}/log.txt").content)
        print(f"job {job_id} {build['state']}: {LINES} lines, {size / 1e6:.1f} MB stored")
        first_line = "1".rjust(line_bytes - 1, "0")
        results = asyncio.run(measure(f"{bench.url}/{slug}/jobs/{job_id}", first_line))
    for name, index in (("first screen", 0), ("whole log in the DOM", 1), ("longest frame", 2)):
        values = [r[index] for r in results]
        print(
            f"{name}: median {statistics.median(values):.0f} ms (min {min(values):.0f}, "
            f"max {max(values):.0f}) over {len(values)} page loads"
        )


if __name__ == "__main__":
    main()
