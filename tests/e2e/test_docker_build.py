"""The whole path with the docker backend: git repository → trigger → two jobs run in
containers of a podman service, cloning through the worker's mirror → passed, on SQLite
and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GitRepo, Running
from tests.e2e.test_build_cache import CACHED, run_build
from tests.e2e.test_build_lifecycle import TWO_JOBS
from tests.integration.backends.podman import build_test_image, podman_service, podman_unavailable
from tests.integration.backends.support import reachable_dir

UNAVAILABLE = podman_unavailable()
pytestmark = pytest.mark.skipif(
    UNAVAILABLE is not None, reason=f"podman cannot run here: {UNAVAILABLE}"
)


@pytest.fixture(scope="module")
def podman() -> Iterator[tuple[str, str]]:
    """The URL of a podman service and the tests' image in it."""
    with podman_service() as url:
        yield url, build_test_image()


@pytest.fixture
def container_work_dir() -> Iterator[Path]:
    with reachable_dir() as path:
        yield path


async def test_two_jobs_pass_in_containers(
    podman: tuple[str, str],
    container_work_dir: Path,
    start_system: Any,
    git_repo: Callable[..., GitRepo],
) -> None:
    url, image = podman
    system: Running = await start_system(
        backend="docker", docker_url=url, images={"focal": image}, work_dir=container_work_dir
    )
    repo = git_repo()
    repo.commit({".travis.yml": TWO_JOBS + "  - id -un\n", "README.md": "hi\n"})
    slug = (await system.add_repo(repo))["slug"]

    build = await system.finished_build(await system.build_of(slug, await system.trigger(slug)))

    first_log, second_log = [await system.log(job["id"]) for job in build["jobs"]]
    assert build["state"] == "passed", second_log
    assert [job["state"] for job in build["jobs"]] == ["passed", "passed"]
    assert "backend: docker" in first_log
    assert "hello vanilla" in first_log
    assert "hello chocolate" in second_log
    assert "$ id -un\ntravis\n" in second_log
    assert 'The command "test -f README.md" exited with 0.' in second_log
    assert list(container_work_dir.iterdir()) == []  # both jobs' places are gone


async def test_build_cache_round_trip_in_containers(
    podman: tuple[str, str],
    container_work_dir: Path,
    start_system: Any,
    git_repo: Callable[..., GitRepo],
) -> None:
    url, image = podman
    system: Running = await start_system(
        backend="docker", docker_url=url, images={"focal": image}, work_dir=container_work_dir
    )
    repo = git_repo()
    repo.commit({".travis.yml": CACHED})
    slug = (await system.add_repo(repo))["slug"]

    _, first = await run_build(system, slug, "main")
    _, second = await run_build(system, slug, "main")

    assert "no history" in first
    assert "found cache" in second
    assert "stored by main 1" in second
