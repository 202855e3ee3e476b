"""The build cache store: one archive per repository, branch and cache name, as files.

Layout under data_dir/cache (no database: the archives are files, so is their index):

    objects/ab/ab12…ef         archives, named by the SHA-256 of their bytes (identical
                               archives of two branches are stored once)
    refs/<repo id>/<branch>/<name>  one line: the SHA-256 of the archive; its mtime is the
                               last time a job fetched or stored it
    tmp/                       uploads being received

Every write is a rename, so several platform processes may share the directory. Pruning
after each upload removes refs unused for cache_max_age_days, then the least recently used
ones until the archives they name fit in cache_max_bytes, then archives nobody names.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from roundhouse.db.models import Build, Job
from roundhouse.protocol import CacheInfo
from roundhouse.script import cache as script_cache
from roundhouse.settings import Settings

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
# A new archive is in objects/ a moment before its ref names it (maybe in another platform
# process): pruning spares archives written this recently.
GRACE_SECONDS = 60.0
JOB_TOKEN_PREFIX = "job."


class ArchiveTooLarge(Exception):
    """The upload is larger than the whole cache may be."""


def job_token(job: Job) -> str:
    """The cache credential of one job attempt: its id and lease, checked against the database."""
    return f"{JOB_TOKEN_PREFIX}{job.id}.{job.lease}"


def parse_job_token(token: str) -> tuple[int, str] | None:
    """(job id, lease) of a job token, None for anything else (an API token, say)."""
    if not token.startswith(JOB_TOKEN_PREFIX):
        return None
    job_id, _, lease = token.removeprefix(JOB_TOKEN_PREFIX).partition(".")
    return (int(job_id), lease) if job_id.isdigit() and lease else None


def cache_info(job: Job, build: Build, public_url: str) -> CacheInfo | None:
    """The payload's cache block, None when the job caches nothing.

    A pull request stores under its own name ("PR.<number>"), so that it never changes
    what its base branch's builds restore; it fetches its own, then the base branch's.
    """
    if not script_cache.directories(job.config) or not build.branch:
        return None
    base = f"{public_url}/api/cache/{job.repository_id}"
    name = script_cache.name(job.config)
    number = build.request.pull_request_number
    branch = f"PR.{number}" if number else build.branch
    store_url = f"{base}/{quote(branch, safe='')}/{name}"
    fetch_url = store_url + (f"?fallback={quote(build.branch, safe='')}" if number else "")
    return {"fetch_url": fetch_url, "store_url": store_url, "token": job_token(job)}


def valid_name(name: str) -> bool:
    return NAME.fullmatch(name) is not None


def branch_dir(branch: str) -> str:
    """A file name for any branch: the prefix keeps "." and ".." out, long ones are hashed."""
    encoded = "b-" + quote(branch, safe="")
    if len(encoded) > 200:
        return "h-" + hashlib.sha256(branch.encode()).hexdigest()
    return encoded


@dataclass(frozen=True)
class Entry:
    sha256: str
    size: int


@dataclass(frozen=True)
class CacheListing:
    branch: str
    name: str
    size: int
    last_used: float  # seconds since the epoch


class CacheStore:
    """All state is on disk: making one per request is cheap."""

    def __init__(
        self,
        root: Path,
        max_bytes: int,
        max_age_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.max_age = max_age_seconds
        self.clock = clock

    @classmethod
    def for_settings(cls, settings: Settings) -> CacheStore:
        return cls(
            Path(settings.data_dir) / "cache",
            settings.cache_max_bytes,
            settings.cache_max_age_days * 86400.0,
        )

    def _ref(self, repo_id: int, branch: str, name: str) -> Path:
        return self.root / "refs" / str(repo_id) / branch_dir(branch) / name

    def _object(self, sha256: str) -> Path:
        return self.root / "objects" / sha256[:2] / sha256

    def lookup(self, repo_id: int, branches: list[str], name: str) -> Path | None:
        """The archive of the first branch that has a fresh one; marks it used."""
        for branch in dict.fromkeys(branches):
            ref = self._ref(repo_id, branch, name)
            try:
                if self.clock() - ref.stat().st_mtime > self.max_age:
                    continue
                archive = self._object(ref.read_text().strip())
                if not archive.is_file():
                    continue
                now = self.clock()
                os.utime(ref, (now, now))
            except OSError:  # no such ref, or pruned a moment ago
                continue
            return archive
        return None

    def listing(self, repo_id: int) -> list[CacheListing]:
        """A repository's caches, most recently used first."""
        found = [cache for cache, _ in self._refs(repo_id)]
        return sorted(found, key=lambda c: c.last_used, reverse=True)

    def _refs(self, repo_id: int) -> list[tuple[CacheListing, Path]]:
        found = []
        for ref in self.root.glob(f"refs/{repo_id}/*/*"):
            try:
                used = ref.stat().st_mtime
                size = self._size(ref.read_text().strip())
            except OSError:  # pruned a moment ago
                continue
            branch = ref.parent.name
            shown = unquote(branch[2:]) if branch.startswith("b-") else "(a long branch name)"
            found.append((CacheListing(shown, ref.name, size or 0, used), ref))
        return found

    def delete(
        self, repo_id: int, branch: str | None = None, name: str | None = None
    ) -> list[CacheListing]:
        """Forget a repository's caches (of one branch, of one name, or all); the archives no
        other ref names go at the next prune. Returns what was deleted."""
        deleted = []
        for cache, ref in self._refs(repo_id):
            if name is not None and ref.name != name:
                continue
            if branch is not None and ref.parent.name != branch_dir(branch):
                continue
            ref.unlink(missing_ok=True)
            deleted.append(cache)
        return deleted

    async def put(
        self, repo_id: int, branch: str, name: str, chunks: AsyncIterator[bytes]
    ) -> Entry:
        """Receive an archive into tmp/, then rename it into place and point the ref at it."""
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        handle, tmp_name = tempfile.mkstemp(dir=tmp)
        try:
            with os.fdopen(handle, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise ArchiveTooLarge(
                            f"The archive is larger than the whole build cache may be "
                            f"({self.max_bytes} bytes, setting cache_max_bytes)."
                        )
                    digest.update(chunk)
                    out.write(chunk)
            sha256 = digest.hexdigest()
            archive = self._object(sha256)
            archive.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, archive)
            ref = self._ref(repo_id, branch, name)
            ref.parent.mkdir(parents=True, exist_ok=True)
            ref_tmp = tmp / f"{os.path.basename(tmp_name)}.ref"
            ref_tmp.write_text(sha256 + "\n")
            now = self.clock()
            os.utime(ref_tmp, (now, now))
            os.replace(ref_tmp, ref)
        finally:
            Path(tmp_name).unlink(missing_ok=True)
        return Entry(sha256, size)

    def prune(self) -> None:
        """Expire, evict least recently used past the size limit, drop unnamed archives."""
        now = self.clock()
        refs: list[tuple[float, Path, str]] = []
        for ref in self.root.glob("refs/*/*/*"):
            try:
                used = ref.stat().st_mtime
                if now - used > self.max_age:
                    ref.unlink()
                    continue
                refs.append((used, ref, ref.read_text().strip()))
            except OSError:
                continue
        kept: set[str] = set()
        total, full = 0, False
        for _, ref, sha256 in sorted(refs, key=lambda item: item[0], reverse=True):
            if sha256 in kept:
                continue
            size = self._size(sha256)
            # Strictly by last use: once one does not fit, every older one goes too.
            if full or size is None or total + size > self.max_bytes:
                full = full or size is not None
                ref.unlink(missing_ok=True)
                continue
            kept.add(sha256)
            total += size
        self._collect(kept, now)

    def _size(self, sha256: str) -> int | None:
        try:
            return self._object(sha256).stat().st_size
        except OSError:
            return None

    def _collect(self, kept: set[str], now: float) -> None:
        for path in [*self.root.glob("objects/*/*"), *self.root.glob("tmp/*")]:
            try:
                young = now - path.stat().st_mtime < GRACE_SECONDS
            except OSError:
                continue
            if path.name not in kept and not young:
                path.unlink(missing_ok=True)
        for folder in self.root.glob("refs/*/*"):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
