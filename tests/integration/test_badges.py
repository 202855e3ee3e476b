"""Status badges of real builds: the SVG of a branch's last finished build, unknown before
any (and for what the caller may not see), revalidation headers, and the README snippet.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.conftest import SQLITE_ONLY, GitRepo, Running

# Badges only read the builds: one database is enough here.
pytestmark = SQLITE_ONLY


def word(svg: str) -> str:
    """The status a badge shows (its accessible name is `build: <status>`)."""
    return svg.split('aria-label="build: ', 1)[1].split('"', 1)[0]


async def test_each_branch_shows_its_last_finished_build(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": "language: shell\nscript: true\n"})
    slug = (await system.add_repo(repo))["slug"]
    anonymous = httpx.AsyncClient(base_url=system.url)

    first = await anonymous.get(f"/{slug}.svg")
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/svg+xml"
    assert first.headers["cache-control"] == "no-cache, max-age=0"
    assert word(first.text) == "unknown"

    await system.finished_build(await system.build_of(slug, await system.trigger(slug)))
    repo.git("checkout", "-q", "-b", "dev")
    repo.commit({".travis.yml": "language: shell\nscript: exit 1\n"})
    await system.finished_build(await system.build_of(slug, await system.trigger(slug, "dev")))

    passing = await anonymous.get(f"/{slug}.svg", params={"branch": "main"})
    assert word(passing.text) == "passing"
    assert 'fill="#44cc11"' in passing.text
    assert word((await anonymous.get(f"/{slug}.svg", params={"branch": "dev"})).text) == "failing"
    assert word((await anonymous.get(f"/{slug}.svg", params={"branch": "x"})).text) == "unknown"

    again = await anonymous.get(
        f"/{slug}.svg",
        params={"branch": "main"},
        headers={"If-None-Match": passing.headers["etag"]},
    )
    assert (again.status_code, again.content) == (304, b"")
    await anonymous.aclose()

    page = (await system.http.get(f"/{slug}/builds")).text
    assert f"[![Build Status]({system.url}/{slug}.svg)]({system.url}/{slug})" in page


async def test_a_private_repository_shows_nothing_to_strangers(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": "language: shell\nscript: true\n"})
    response = await system.http.post("/api/repos", json={"url": repo.url, "private": True})
    slug = response.json()["slug"]
    await system.finished_build(await system.build_of(slug, await system.trigger(slug)))

    assert word((await system.http.get(f"/{slug}.svg")).text) == "passing"
    async with httpx.AsyncClient(base_url=system.url) as anonymous:
        stranger = await anonymous.get(f"/{slug}.svg")
        assert (stranger.status_code, word(stranger.text)) == (200, "unknown")
        missing = await anonymous.get("/nobody/nothing.svg")
        assert word(missing.text) == "unknown"
