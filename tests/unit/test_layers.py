"""platform/ and worker/ never import each other (DESIGN.md, Layout): a `roundhouse worker`
process loads no platform code, and a `roundhouse platform` process no worker code."""

from __future__ import annotations

import subprocess
import sys

import pytest


def loaded(modules: str, prefix: str) -> list[str]:
    program = (
        f"import sys, {modules}\n"
        f"print(' '.join(sorted(m for m in sys.modules if m.startswith({prefix!r}))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    return result.stdout.split()


@pytest.mark.parametrize(
    ("modules", "forbidden"),
    [
        ("roundhouse.cli, roundhouse.worker.daemon", "roundhouse.platform"),
        ("roundhouse.platform.serve", "roundhouse.worker"),
    ],
)
def test_one_role_does_not_load_the_other(modules: str, forbidden: str) -> None:
    assert loaded(modules, forbidden) == []
