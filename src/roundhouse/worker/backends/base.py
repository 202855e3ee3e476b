"""The backend interface: start a job's script with its output on one stream, stop it
(whole process tree) on request, and clean up the job's place afterwards.

A worker that was killed cannot clean up after itself, so every backend also knows how to
find and remove what such a worker left behind (cleanup_leftovers, called at worker start).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from roundhouse.protocol import JobPayload


@dataclass(frozen=True)
class CacheDirs:
    """A job's build cache on the host (worker/cache.py): the job copies cached directories
    out of `fetched` before install and into `store` after script (script/bash/cache.sh).
    A backend shows both to the job and names them in ROUNDHOUSE_CACHE_FETCHED/_STORE."""

    fetched: Path
    store: Path


class JobStartError(Exception):
    """The job cannot run here (say, its image is missing); the message goes to the job log."""


class RunningJob(ABC):
    """A started script: read its combined output, wait for its exit code, kill it."""

    output: asyncio.StreamReader

    @abstractmethod
    async def wait(self) -> int: ...

    @abstractmethod
    async def kill(self) -> None:
        """Stop the script and every process it started, within 2 seconds."""

    @abstractmethod
    async def cleanup(self) -> None: ...

    def termination_reason(self) -> str | None:
        """Why the environment ended the job, if it did (e.g. "memory limit exceeded").

        Asked after the script has exited and before cleanup(); a reason errors the job.
        """
        return None


class Backend(ABC):
    name: str

    @abstractmethod
    async def start(
        self, payload: JobPayload, work_dir: Path, cache: CacheDirs | None = None
    ) -> RunningJob:
        """Start the job; raise JobStartError (or OSError) when it cannot run."""

    @abstractmethod
    async def cleanup_leftovers(self, work_dir: Path) -> list[str]:
        """Remove the job environments a killed worker left in work_dir; return their names."""
