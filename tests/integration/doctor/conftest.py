"""The doctor tests run on one SQLite database per test unless a test asks otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dbtemplates import SqliteTemplate


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: SqliteTemplate) -> str:
    return sqlite_template.copy_to(tmp_path / "roundhouse.db")
