"""Fixtures of the backend tests: a work directory the sandbox can reach, a bwrap backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from roundhouse.settings import Settings
from roundhouse.worker.backends.bwrap import BwrapBackend
from tests.integration.backends.support import reachable_dir


@pytest.fixture
def work_dir() -> Iterator[Path]:
    with reachable_dir() as path:
        yield path / "work"


@pytest.fixture
def make_bwrap(work_dir: Path) -> Callable[..., BwrapBackend]:
    def make(**overrides: Any) -> BwrapBackend:
        values: dict[str, Any] = {
            "backend": "bwrap",
            "data_dir": work_dir.parent / "data",
            "images": {"host": "host"},
            "sandbox_memory_mb": 256,
            "sandbox_pids": 128,
        }
        return BwrapBackend(Settings(**{**values, **overrides}))

    return make


@pytest.fixture
def bwrap(make_bwrap: Callable[..., BwrapBackend]) -> BwrapBackend:
    return make_bwrap()
