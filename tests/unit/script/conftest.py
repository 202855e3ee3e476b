"""Fixtures for the script compiler tests.

`sandbox` gives each test its own home, origin repository and job directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from script_support import Sandbox


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path)
