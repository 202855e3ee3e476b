"""Read-only git operations the platform needs: heads, files and messages at a commit.

A bare mirror per repository under data_dir/mirrors answers them without a checkout.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}


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
            await run_git("fetch", "--quiet", "--no-tags", self.url, f"+{ref}:{ref}", cwd=self.path)
            return (await run_git("rev-parse", ref, cwd=self.path)).strip()

    async def fetch_ref(self, ref: str) -> str | None:
        """Fetch any ref (such as a pull request's refs/pull/N/merge) and return its sha;
        None when the remote has no such ref."""
        async with self._lock:
            await self.ensure()
            try:
                await run_git(
                    "fetch", "--quiet", "--no-tags", self.url, f"+{ref}:{ref}", cwd=self.path
                )
            except GitError as error:
                if "couldn't find remote ref" in str(error):
                    return None
                raise
            return (await run_git("rev-parse", ref, cwd=self.path)).strip()

    async def fetch_commit(self, sha: str, ref: str | None) -> None:
        """Make sure sha is present, fetching the ref (or everything) when it is not."""
        if await self.has(sha):
            return
        async with self._lock:
            await self.ensure()
            refspec = f"+{ref}:{ref}" if ref else "+refs/*:refs/*"
            await run_git("fetch", "--quiet", "--no-tags", self.url, refspec, cwd=self.path)
            if not await self.has(sha):
                await run_git("fetch", "--quiet", self.url, sha, cwd=self.path)

    async def parents(self, sha: str) -> list[str]:
        out = await run_git("rev-list", "--parents", "-n", "1", sha, cwd=self.path)
        return out.split()[1:]

    async def read_file(self, sha: str, path: str) -> str | None:
        """The file's text at the commit, or None when it does not exist there."""
        try:
            return await run_git("show", f"{sha}:{path}", cwd=self.path)
        except GitError:
            return None

    async def commit(self, sha: str) -> Commit:
        out = await run_git(
            "log", "-1", "--format=%H%x00%an%x00%ae%x00%cn%x00%ce%x00%cI%x00%B", sha, cwd=self.path
        )
        full, author, author_email, committer, committer_email, at, message = out.split("\x00", 6)
        return Commit(full, message.strip(), author, author_email, committer, committer_email, at)
