"""The build cache end to end: a job stores a cached directory through the platform and the
next build's job finds it there, on its own branch or, for a new branch, the default one's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from roundhouse.script import cache
from tests.conftest import GitRepo, Running
from tests.integration.backends.support import bwrap_unavailable, reachable_dir

CACHED = """\
language: shell
cache:
  directories:
    - mycache
script:
  - cat mycache/history || echo "no history"
  - echo "stored by $TRAVIS_BRANCH $TRAVIS_BUILD_NUMBER" >> mycache/history
"""


async def run_build(system: Running, slug: str, branch: str) -> tuple[dict[str, Any], str]:
    """Trigger, wait for the build, return its one job and that job's log."""
    build_id = await system.build_of(slug, await system.trigger(slug, branch=branch))
    build = await system.finished_build(build_id)
    assert build["state"] == "passed", build
    (job,) = build["jobs"]
    return await system.job(job["id"]), await system.log(job["id"])


async def test_cache_round_trip_between_builds(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": CACHED})
    added = await system.add_repo(repo)

    job, first = await run_build(system, added["slug"], "main")
    assert "could not download cache" in first
    assert "no history" in first

    name = cache.name(job["config"])
    archive = await system.http.get(f"/api/cache/{added['id']}/main/{name}")
    assert archive.status_code == 200
    assert archive.headers["content-type"] == "application/gzip"

    _, second = await run_build(system, added["slug"], "main")
    assert "found cache" in second
    assert "stored by main 1" in second
    assert "could not be" not in second  # no fetch or store warning


async def test_new_branch_starts_from_the_default_branch_cache(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": CACHED})
    repo.git("branch", "feature/x")
    added = await system.add_repo(repo)
    slug, repo_id = added["slug"], added["id"]

    job, _ = await run_build(system, slug, "main")
    _, feature = await run_build(system, slug, "feature/x")
    assert "found cache" in feature
    assert "stored by main 1" in feature

    # The branch stored its own archive; main's is still main's alone.
    name = cache.name(job["config"])
    branch_url = f"/api/cache/{repo_id}/{quote('feature/x', safe='')}/{name}"
    assert (await system.http.get(branch_url)).status_code == 200
    _, third = await run_build(system, slug, "main")
    assert "stored by main 1" in third
    assert "stored by feature/x" not in third


BWRAP_UNAVAILABLE = bwrap_unavailable()


@pytest.mark.skipif(
    BWRAP_UNAVAILABLE is not None, reason=f"the bwrap backend cannot run here: {BWRAP_UNAVAILABLE}"
)
async def test_cache_round_trip_in_sandboxes(
    start_system: Any, git_repo: Callable[..., GitRepo]
) -> None:
    with reachable_dir() as work_dir:
        system: Running = await start_system(
            backend="bwrap", images={"focal": "host"}, work_dir=work_dir
        )
        repo = git_repo()
        in_home = CACHED.replace("    - mycache\n", "    - mycache\n    - $HOME/.mine\n")
        home_lines = "  - cat $HOME/.mine/file || true\n  - echo kept-in-home > $HOME/.mine/file\n"
        repo.commit({".travis.yml": in_home + home_lines})
        slug = (await system.add_repo(repo))["slug"]

        _, first = await run_build(system, slug, "main")
        assert "could not download cache" in first
        _, second = await run_build(system, slug, "main")
        assert "found cache" in second
        assert "stored by main 1" in second
        assert "\nkept-in-home\n" in second
        assert "could not be" not in second
