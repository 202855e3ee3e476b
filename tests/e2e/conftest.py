"""Fixtures of the whole-system tests: a production topology (tests/topology.py), and a
browser (Debian's chromium via Playwright)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.dbtemplates import PostgresTemplate
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.topology import Topology


@pytest.fixture
def topology(
    tmp_path: Path, postgres_url: str, postgres_template: PostgresTemplate, amqp_url: str
) -> Iterator[Topology]:
    """Platform and worker processes on a migrated PostgreSQL schema and a RabbitMQ vhost of
    the test's own; every process still running is stopped at the end."""
    database = postgres_template.fill(postgres_url)
    installation = Topology(tmp_path / "topology", database, amqp_url)
    installation.root.mkdir()
    try:
        yield installation
    finally:
        installation.stop_all()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()
