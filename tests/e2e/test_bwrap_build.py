"""The whole path with the bwrap backend: git repository → trigger → two jobs run in
sandboxes, cloning through the worker's mirror → passed, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GitRepo, Running
from tests.e2e.test_build_lifecycle import TWO_JOBS
from tests.integration.backends.support import bwrap_unavailable, reachable_dir

UNAVAILABLE = bwrap_unavailable()
pytestmark = pytest.mark.skipif(
    UNAVAILABLE is not None, reason=f"the bwrap backend cannot run here: {UNAVAILABLE}"
)


@pytest.fixture
def sandbox_work_dir() -> Iterator[Path]:
    with reachable_dir() as path:
        yield path


async def test_two_jobs_pass_in_sandboxes(
    sandbox_work_dir: Path, start_system: Any, git_repo: Callable[..., GitRepo]
) -> None:
    system: Running = await start_system(
        backend="bwrap", images={"focal": "host"}, work_dir=sandbox_work_dir
    )
    repo = git_repo()
    repo.commit({".travis.yml": TWO_JOBS + "  - id -un\n", "README.md": "hi\n"})
    slug = (await system.add_repo(repo))["slug"]

    build = await system.finished_build(await system.build_of(slug, await system.trigger(slug)))

    assert build["state"] == "passed"
    assert [job["state"] for job in build["jobs"]] == ["passed", "passed"]
    first_log, second_log = [await system.log(job["id"]) for job in build["jobs"]]
    assert "backend: bwrap" in first_log
    assert "hello vanilla" in first_log
    assert "hello chocolate" in second_log
    assert "$ id -un\ntravis\n" in second_log
    assert 'The command "test -f README.md" exited with 0.' in second_log
    assert list(sandbox_work_dir.iterdir()) == []  # both jobs' places are gone
