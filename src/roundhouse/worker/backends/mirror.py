"""The job's repository, fetched by the worker for a sandbox that cannot reach it.

A sandboxed job may have no network, and cannot see the host's files: a clone URL such as
https://git.example.com/team/app or file:///srv/git/app would fail inside. So the worker
mirrors the repository on the host first, the sandbox shows the mirror read-only, and a git
setting in the job's home points the clone URL at it (`url.<mirror>.insteadOf <url>`). The
compiled script's checkout stays exactly as it is everywhere else.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from roundhouse.worker.backends.base import JobStartError

# Where the sandbox shows the mirror.
SANDBOX_PATH = "/run/roundhouse/origin.git"
# No prompt may wait for a password that never comes.
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "echo"}


def wants_mirror(payload: Any) -> bool:
    """Jobs with `git: clone: false`, and payloads without a URL, clone nothing."""
    git = (payload.get("config") or {}).get("git")
    no_clone = isinstance(git, dict) and git.get("clone") is False
    return bool(payload["repository"]["clone_url"]) and not no_clone


async def make_mirror(url: str, target: Path, timeout: float) -> None:
    """`git clone --mirror` url into target on the host, or JobStartError with git's words."""
    process = await asyncio.create_subprocess_exec(
        "git",
        "clone",
        "--mirror",
        "--quiet",
        "--",  # a URL that starts with "-" is not an option
        url,
        str(target),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **GIT_ENV},
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise JobStartError(f"Fetching {url} took longer than {timeout:.0f} s.") from None
    if process.returncode != 0:
        reason = stderr.decode(errors="replace").strip().splitlines() or ["no message"]
        raise JobStartError(f"The repository {url} could not be fetched: {reason[-1]}")


def git_config(url: str) -> str:
    """The job's ~/.gitconfig: the clone URL leads to the mirror."""
    if "\n" in url:
        raise JobStartError(f"The clone URL {url!r} has a line break; fix the repository's URL.")
    quoted = url.replace("\\", "\\\\").replace('"', '\\"')
    return (
        f'[url "file://{SANDBOX_PATH}"]\n'
        f'\tinsteadOf = "{quoted}"\n'
        # The mirror belongs to root; git refuses to read other users' repositories otherwise.
        "[safe]\n"
        f"\tdirectory = {SANDBOX_PATH}\n"
    )
