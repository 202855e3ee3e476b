"""The doctor tests run on one SQLite database per test unless a test asks otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'roundhouse.db'}"
