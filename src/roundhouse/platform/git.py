"""Read-only git operations the platform needs: heads, files and messages at a commit.

A bare mirror per repository under data_dir/mirrors answers them without a checkout.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}
# `git fetch` runs `git maintenance run --auto` (one more process) before it returns, on
# every request's way to its build; the mirrors leave it out and the gatekeeper runs it once
# the build is on its way, after a mirror's first fetch and every this many fetches (git's
# thresholds take hundreds of fetches; the work itself, when due, detaches from git's process).
MAINTENANCE_EVERY = 50
log = logging.getLogger(__name__)


class GitError(Exception):
    """A git command failed; the message is git's own last line."""


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str
    author: str
    author_email: str = ""
    committer: str = ""
    committer_email: str = ""
    committed_at: str = ""  # ISO 8601, as git prints it


async def run_git(*args: str, cwd: Path | None = None, timeout: float = 60) -> str:
    process = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **GIT_ENV},
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise GitError(f"git {args[0]} timed out after {timeout:.0f} s") from None
    if process.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines()
        raise GitError(lines[-1] if lines else f"git {args[0]} exited with {process.returncode}")
    return out.decode(errors="replace")


async def ls_remote_heads(url: str) -> dict[str, str]:
    """Branch name → head sha of a remote repository."""
    out = await run_git("ls-remote", "--heads", url)
    heads: dict[str, str] = {}
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        if ref.startswith("refs/heads/"):
            heads[ref.removeprefix("refs/heads/")] = sha
    return heads


class Mirror:
    """A bare clone kept up to date on demand; one per repository."""

    def __init__(self, path: Path, url: str) -> None:
        self.path = path
        self.url = url
        self._lock = asyncio.Lock()
        self._fetches = 0
        self._maintenance_due = False

    async def ensure(self) -> None:
        if not (self.path / "HEAD").exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            await run_git("init", "--bare", "--quiet", str(self.path))

    async def has(self, sha: str) -> bool:
        if not (self.path / "HEAD").exists():
            return False
        try:
            await run_git("cat-file", "-e", f"{sha}^{{commit}}", cwd=self.path)
        except GitError:
            return False
        return True

    async def fetch_branch(self, branch: str) -> str:
        """Fetch a branch's head from the remote and return its sha."""
        async with self._lock:
            await self.ensure()
            ref = f"refs/heads/{branch}"
            await self._fetch(f"+{ref}:{ref}")
            return await self._sha_of(ref)

    async def fetch_ref(self, ref: str) -> str | None:
        """Fetch any ref (such as a pull request's refs/pull/N/merge) and return its sha;
        None when the remote has no such ref."""
        async with self._lock:
            await self.ensure()
            try:
                await self._fetch(f"+{ref}:{ref}")
            except GitError as error:
                if "couldn't find remote ref" in str(error):
                    return None
                raise
            return await self._sha_of(ref)

    async def _fetch(self, refspec: str, *, tags: bool = False) -> None:
        options = ["--quiet", "--no-auto-maintenance", *([] if tags else ["--no-tags"])]
        await run_git("fetch", *options, self.url, refspec, cwd=self.path)
        self._fetches += 1
        if self._fetches % MAINTENANCE_EVERY == 1:
            self._maintenance_due = True

    async def maintain(self) -> None:
        """git's housekeeping of the mirror, if fetches made it due (see MAINTENANCE_EVERY)."""
        if not self._maintenance_due:
            return
        self._maintenance_due = False
        try:
            await run_git("maintenance", "run", "--auto", "--quiet", cwd=self.path)
        except GitError as error:  # the mirror still works; it only grows untidy
            log.warning("git maintenance of the mirror %s failed: %s", self.path, error)

    async def _sha_of(self, ref: str) -> str:
        # A fetch that moved the ref wrote it as a loose file; reading that saves a process.
        loose = self.path / ref
        if loose.is_file():
            sha = loose.read_text().strip()
            if len(sha) in (40, 64):  # SHA-1 or SHA-256 repositories
                return sha
        return (await run_git("rev-parse", ref, cwd=self.path)).strip()

    async def fetch_commit(self, sha: str, ref: str | None) -> None:
        """Make sure sha is present, fetching the ref (or everything) when it is not."""
        if await self.has(sha):
            return
        async with self._lock:
            await self.ensure()
            await self._fetch(f"+{ref}:{ref}" if ref else "+refs/*:refs/*")
            if not await self.has(sha):
                await self._fetch(sha, tags=True)

    async def parents(self, sha: str) -> list[str]:
        out = await run_git("rev-list", "--parents", "-n", "1", sha, cwd=self.path)
        return out.split()[1:]

    async def commit_and_file(self, sha: str, path: str | None) -> tuple[Commit, str | None]:
        """The commit, and the file's text at it (None when it has no such file), read by one
        git process: the gatekeeper asks for both on every request."""
        process = await asyncio.create_subprocess_exec(
            "git",
            "cat-file",
            "--batch",
            cwd=self.path,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **GIT_ENV},
        )
        names = [sha] if path is None else [sha, f"{sha}:{path}"]
        out, err = await process.communicate("".join(f"{name}\n" for name in names).encode())
        if process.returncode != 0:
            raise GitError(err.decode(errors="replace").strip() or "git cat-file failed")
        objects = _batch_objects(out)
        if objects[0] is None or objects[0][0] != "commit":
            raise GitError(f"{sha} is not a commit of this repository")
        commit = _parse_commit(objects[0][1], objects[0][2])
        blob = objects[1] if path is not None else None
        text = blob[2].decode(errors="replace") if blob and blob[0] == "blob" else None
        return commit, text

    async def commit(self, sha: str) -> Commit:
        commit, _ = await self.commit_and_file(sha, None)
        return commit


def _batch_objects(out: bytes) -> list[tuple[str, str, bytes] | None]:
    """(type, object id, content) per object `git cat-file --batch` printed; None if missing."""
    objects: list[tuple[str, str, bytes] | None] = []
    position = 0
    while position < len(out):
        end = out.index(b"\n", position)
        header = out[position:end].decode().split()
        position = end + 1
        if len(header) != 3:  # "<name> missing" or "<name> ambiguous"
            objects.append(None)
            continue
        oid, kind, size = header[0], header[1], int(header[2])
        objects.append((kind, oid, out[position : position + size]))
        position += size + 1  # the content is followed by a newline
    return objects


def _parse_commit(oid: str, raw: bytes) -> Commit:
    """A raw commit object: headers ("author Name <email> time zone"), a blank line, the message."""
    headers, _, message = raw.decode(errors="replace").partition("\n\n")
    people = {}
    for line in headers.splitlines():
        role, _, value = line.partition(" ")
        if role in ("author", "committer") and role not in people:
            people[role] = _person(value)
    author, author_email, _ = people.get("author", ("", "", ""))
    committer, committer_email, committed_at = people.get("committer", ("", "", ""))
    return Commit(
        oid, message.strip(), author, author_email, committer, committer_email, committed_at
    )


def _person(value: str) -> tuple[str, str, str]:
    """Name, email and ISO 8601 time of "Name <email> 1700000000 +0100"."""
    name, _, rest = value.partition(" <")
    email, _, stamp = rest.partition("> ")
    seconds, _, zone = stamp.partition(" ")
    try:
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
        tz = timezone(-offset if zone.startswith("-") else offset)
        at = datetime.fromtimestamp(int(seconds), tz).isoformat()
    except ValueError:
        at = ""
    return name, email, at
