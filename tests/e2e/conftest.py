"""Fixtures of the whole-system tests: a production topology (tests/topology.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.topology import Topology


@pytest.fixture
def topology(tmp_path: Path, postgres_url: str, amqp_url: str) -> Iterator[Topology]:
    """Platform and worker processes on a PostgreSQL schema and a RabbitMQ vhost of the
    test's own; every process still running is stopped at the end."""
    installation = Topology(tmp_path / "topology", postgres_url, amqp_url)
    installation.root.mkdir()
    try:
        yield installation
    finally:
        installation.stop_all()
