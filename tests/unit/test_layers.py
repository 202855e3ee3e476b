"""platform/ and worker/ never import each other (DESIGN.md, Layout): a `roundhouse worker`
process loads no platform code, and a `roundhouse platform` process no worker code. And the
CLI's user commands start without the settings' code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def loaded(modules: str, prefix: str, then: str = "") -> list[str]:
    program = (
        f"import sys, {modules}\n{then}\n"
        f"print(' '.join(sorted(m for m in sys.modules if m.startswith({prefix!r}))))"
    )
    # Without ROUNDHOUSE_* variables: a token or data directory from outside changes nothing.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDHOUSE_")}
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, env=env
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


def test_the_cli_finds_the_admin_token_without_loading_the_settings(tmp_path: Path) -> None:
    (tmp_path / "admin-token").write_text("secret\n")
    find = f"assert roundhouse.client.find_token(None, pathlib.Path({str(tmp_path)!r})) == 'secret'"

    # pydantic-settings and the settings module take ~0.17 s to load: a third of a command.
    assert loaded("pathlib, roundhouse.client", "pydantic_settings", find) == []
    assert loaded("pathlib, roundhouse.client", "roundhouse.settings", find) == []
