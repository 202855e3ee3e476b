"""The worker's cache transport against a real platform: unpack what was stored, upload only
what changed, only after jobs that ran to their end, and never fail a job over the cache.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from roundhouse.protocol import JobPayload
from roundhouse.worker.cache import JobCache, tree_digest
from roundhouse.worker.logwriter import LogWriter
from tests.conftest import GitRepo, Running, free_port

NAME = "cache-linux-focal-0--shell"


class Log:
    """Collects what the cache writes to the job log."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text


def payload(url: str, token: str, job_id: int = 1) -> JobPayload:
    cache = {"fetch_url": url, "store_url": url, "token": token}
    return cast(JobPayload, {"job": {"id": job_id, "attempt": 1}, "lease": "abc", "cache": cache})


@pytest.fixture
async def cache_url(system: Running, git_repo: Callable[..., GitRepo]) -> str:
    repo = git_repo()
    repo.commit({"README": "x"})
    repo_id = (await system.add_repo(repo))["id"]
    return f"{system.url}/api/cache/{repo_id}/main/{NAME}"


async def open_cache(
    system: Running, url: str, work_dir: Path, job_id: int = 1
) -> tuple[JobCache, Log]:
    log = Log()
    cache = JobCache(payload(url, system.token, job_id), work_dir, cast(LogWriter, log))
    await cache.fetch()
    assert cache.dirs is not None
    return cache, log


def fill(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)


async def test_round_trip_and_unchanged_content_is_not_uploaded(
    system: Running, cache_url: str, tmp_path: Path
) -> None:
    first, log = await open_cache(system, cache_url, tmp_path)
    assert first.dirs is not None and not any(first.dirs.fetched.iterdir())
    fill(first.dirs.store, {".build/deps/lib": "built\n", "home/u/.cache/x": "y"})
    await first.store("passed")
    await first.remove()
    assert log.text == ""  # a first build has no cache: nothing to warn about
    assert (await system.http.get(cache_url)).status_code == 200

    second, _ = await open_cache(system, cache_url, tmp_path, job_id=2)
    assert second.dirs is not None
    assert (second.dirs.fetched / ".build/deps/lib").read_text() == "built\n"
    # What the script does: copy out before install, copy (hard links) back after script.
    subprocess.run(["cp", "-a", f"{second.dirs.fetched}/.", str(tmp_path / "build")], check=True)
    subprocess.run(["cp", "-al", f"{tmp_path / 'build'}/.", str(second.dirs.store)], check=True)
    shutil.rmtree(system.instance.services.ctx.settings.data_dir / "cache" / "refs")
    await second.store("passed")
    assert (await system.http.get(cache_url)).status_code == 404  # unchanged: not uploaded

    fill(second.dirs.store, {".build/deps/new": "more\n"})
    await second.store("failed")  # failed jobs ran to their end: their cache is kept
    assert (await system.http.get(cache_url)).status_code == 200


@pytest.mark.parametrize("state", ["canceled", "errored"])
async def test_interrupted_jobs_store_nothing(
    system: Running, cache_url: str, tmp_path: Path, state: str
) -> None:
    cache, _ = await open_cache(system, cache_url, tmp_path)
    assert cache.dirs is not None
    fill(cache.dirs.store, {"half": "written"})
    await cache.store(state)
    assert (await system.http.get(cache_url)).status_code == 404


async def test_an_unreachable_platform_is_a_warning_not_a_failure(
    system: Running, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{free_port()}/api/cache/1/main/{NAME}"
    cache, log = await open_cache(system, url, tmp_path)
    assert cache.dirs is not None
    assert "The build cache could not be fetched: the platform is unreachable" in log.text
    fill(cache.dirs.store, {"a": "b"})
    await cache.store("passed")
    assert "The build cache could not be stored" in log.text


async def test_a_refused_token_is_named_in_the_log(
    system: Running, cache_url: str, tmp_path: Path
) -> None:
    log = Log()
    cache = JobCache(payload(cache_url, "wrong"), tmp_path, cast(LogWriter, log))
    await cache.fetch()
    assert "could not be fetched: the platform answered 401" in log.text


def test_digest_sees_content_changes_but_not_copies(tmp_path: Path) -> None:
    original = tmp_path / "a"
    fill(original, {"x/y": "1", "z": "2"})
    (original / "link").symlink_to("z")
    copy = tmp_path / "b"
    subprocess.run(["cp", "-a", str(original), str(copy)], check=True)
    assert tree_digest(original) == tree_digest(copy)
    (copy / "x/y").write_text("22")
    assert tree_digest(original) != tree_digest(copy)


def test_no_cache_block_means_no_cache_directories(tmp_path: Path) -> None:
    plain: dict[str, Any] = {"job": {"id": 1, "attempt": 1}, "lease": "abc"}
    cache = JobCache(cast(JobPayload, plain), tmp_path, cast(LogWriter, Log()))
    assert cache.dirs is None
