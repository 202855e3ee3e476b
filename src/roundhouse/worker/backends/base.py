"""The backend interface: start a job's script with its output on one stream, stop it
(whole process tree) on request, and clean up the job's place afterwards.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from pathlib import Path

from roundhouse.protocol import JobPayload


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


class Backend(ABC):
    name: str

    @abstractmethod
    async def start(self, payload: JobPayload, work_dir: Path) -> RunningJob: ...
