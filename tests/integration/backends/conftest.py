"""Fixtures of the backend tests: a work directory the sandbox can reach, a bwrap backend,
a podman service with a small image, and docker backends that use them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from roundhouse.settings import Settings
from roundhouse.worker.backends.bwrap import BwrapBackend
from roundhouse.worker.backends.docker import DockerBackend
from tests.integration.backends.podman import build_test_image, podman_service
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


@pytest.fixture(scope="session")
def podman_url() -> Iterator[str]:
    """The Docker API of a podman service, for the whole session."""
    with podman_service() as url:
        yield url


@pytest.fixture(scope="session")
def docker_image(podman_url: str) -> str:
    return build_test_image()


@pytest.fixture
def make_docker(work_dir: Path, podman_url: str, docker_image: str) -> Callable[..., DockerBackend]:
    def make(**overrides: Any) -> DockerBackend:
        values: dict[str, Any] = {
            "backend": "docker",
            "docker_url": podman_url,
            "data_dir": work_dir.parent / "data",
            "images": {"host": docker_image},
            "sandbox_memory_mb": 256,
            "sandbox_pids": 128,
        }
        return DockerBackend(Settings(**{**values, **overrides}))

    return make


@pytest.fixture
def docker_backend(make_docker: Callable[..., DockerBackend]) -> DockerBackend:
    return make_docker()
