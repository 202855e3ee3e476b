"""The build cache store on disk: lookup with fallback, the size limit, least-recently-used
eviction, expiry, and archives shared between branches; and the payload's cache block.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from roundhouse.db.models import Build, Job, Request
from roundhouse.platform.cache import (
    ArchiveTooLarge,
    CacheStore,
    branch_dir,
    cache_info,
    parse_job_token,
)
from roundhouse.script.cache import name

DAY = 86400.0


class Clock:
    """Far enough ahead of the files' real mtimes that no archive counts as just written."""

    def __init__(self) -> None:
        self.now = time.time() + DAY

    def __call__(self) -> float:
        return self.now


async def body(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 7):
        yield data[start : start + 7]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> CacheStore:
    return CacheStore(tmp_path / "cache", max_bytes=100, max_age_seconds=28 * DAY, clock=clock)


def disk_bytes(store: CacheStore) -> int:
    return sum(path.stat().st_size for path in store.root.glob("objects/*/*"))


def content(store: CacheStore, repo_id: int, branches: list[str], name: str = "c") -> bytes | None:
    found = store.lookup(repo_id, branches, name)
    return None if found is None else found.read_bytes()


async def test_stored_archive_is_found_by_its_branch_then_the_fallbacks(store: CacheStore) -> None:
    entry = await store.put(1, "main", "c", body(b"main archive"))
    assert entry.size == len(b"main archive")
    assert content(store, 1, ["main"]) == b"main archive"
    assert content(store, 1, ["feature/x", "main"]) == b"main archive"
    assert content(store, 1, ["feature/x"]) is None
    assert content(store, 2, ["main"]) is None  # another repository
    assert store.lookup(1, ["main"], "other-name") is None


async def test_an_archive_larger_than_the_cache_is_refused_and_leaves_nothing(
    store: CacheStore,
) -> None:
    with pytest.raises(ArchiveTooLarge):
        await store.put(1, "main", "c", body(b"x" * 101))
    assert content(store, 1, ["main"]) is None
    assert not any((store.root / "tmp").iterdir())


async def test_least_recently_used_go_first_past_the_size_limit(
    store: CacheStore, clock: Clock
) -> None:
    await store.put(1, "a", "c", body(b"a" * 40))
    clock.now += 10
    await store.put(1, "b", "c", body(b"b" * 40))
    clock.now += 10
    assert content(store, 1, ["a"])  # a is used: b is now the least recently used
    clock.now += 10
    await store.put(1, "c", "c", body(b"c" * 40))
    store.prune()

    assert content(store, 1, ["a"]) == b"a" * 40
    assert content(store, 1, ["c"]) == b"c" * 40
    assert content(store, 1, ["b"]) is None
    assert disk_bytes(store) == 80  # b's archive is gone from the disk too


async def test_unused_archives_expire(store: CacheStore, clock: Clock) -> None:
    await store.put(1, "main", "c", body(b"old"))
    clock.now += 27 * DAY
    assert content(store, 1, ["main"]) == b"old"  # used: its age starts again
    clock.now += 27 * DAY
    await store.put(1, "other", "c", body(b"new"))
    store.prune()
    assert content(store, 1, ["main"]) == b"old"

    clock.now += 29 * DAY
    assert content(store, 1, ["main"]) is None
    store.prune()
    assert disk_bytes(store) == 0
    assert not any((store.root / "refs" / "1").iterdir())


async def test_identical_archives_are_stored_once(store: CacheStore) -> None:
    await store.put(1, "main", "c", body(b"same" * 10))
    await store.put(1, "dev", "c", body(b"same" * 10))
    await store.put(1, "dev2", "c", body(b"same" * 10))
    store.prune()
    assert disk_bytes(store) == 40
    assert content(store, 1, ["dev2"]) == b"same" * 10


async def test_deleting_by_branch_or_name_keeps_the_rest_and_frees_the_archives(
    store: CacheStore,
) -> None:
    long_branch = "x" * 300  # its directory is a hash: deleted by its real name all the same
    for branch, cache, data in (
        ("main", "a", b"1" * 10),
        ("main", "b", b"2" * 10),
        (long_branch, "a", b"3" * 10),
    ):
        await store.put(1, branch, cache, body(data))
    await store.put(2, "main", "a", body(b"4" * 10))

    gone = store.delete(1, branch="main", name="a")
    assert [(c.branch, c.name) for c in gone] == [("main", "a")]
    assert [c.name for c in store.delete(1, branch=long_branch)] == ["a"]
    assert [(c.branch, c.name) for c in store.listing(1)] == [("main", "b")]
    store.prune()
    assert disk_bytes(store) == 20  # main/b of repository 1 and repository 2's archive
    assert [c.name for c in store.delete(1)] == ["b"] and store.listing(1) == []
    assert content(store, 2, ["main"], "a") == b"4" * 10


async def test_a_just_written_archive_survives_pruning_before_its_ref_exists(
    tmp_path: Path,
) -> None:
    # Real clock: the archive was written a moment ago, as during a concurrent upload.
    store = CacheStore(tmp_path / "cache", max_bytes=100, max_age_seconds=DAY)
    await store.put(1, "main", "c", body(b"fresh"))
    for ref in (store.root / "refs").glob("*/*/*"):
        ref.unlink()
    store.prune()
    assert disk_bytes(store) == 5


def test_branch_names_become_safe_file_names() -> None:
    assert branch_dir("feature/x") == "b-feature%2Fx"
    assert branch_dir("..") == "b-.."  # never the parent directory itself
    assert branch_dir("x" * 300).startswith("h-")
    assert len(branch_dir("ü/" * 100)) < 255


CACHED: dict[str, Any] = {"language": "shell", "cache": {"directories": ["x"]}}


def job_and_build(config: dict[str, Any], pull_request: int | None = None) -> tuple[Job, Build]:
    job = Job(id=5, lease="f" * 32, repository_id=3, config=config)
    build = Build(branch="feat/y", request=Request(pull_request_number=pull_request))
    return job, build


def test_payload_cache_block_names_branch_archive_and_job_token() -> None:
    info = cache_info(*job_and_build(CACHED), "http://rh:8080")
    assert info is not None
    assert info["store_url"] == f"http://rh:8080/api/cache/3/feat%2Fy/{name(CACHED)}"
    assert info["fetch_url"] == info["store_url"]
    assert parse_job_token(info["token"]) == (5, "f" * 32)
    assert parse_job_token("an-api-token") is None


def test_a_pull_request_stores_apart_and_reads_its_base_branch() -> None:
    info = cache_info(*job_and_build(CACHED, pull_request=7), "http://rh")
    assert info is not None
    assert "/api/cache/3/PR.7/" in info["store_url"]
    assert info["fetch_url"] == info["store_url"] + "?fallback=feat%2Fy"


def test_no_cache_block_without_cached_directories() -> None:
    assert cache_info(*job_and_build({"language": "shell"}), "http://rh") is None
    assert cache_info(*job_and_build({**CACHED, "cache": False}), "http://rh") is None
