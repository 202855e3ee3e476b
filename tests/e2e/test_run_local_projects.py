"""`roundhouse run-local` on real-looking projects with the toolchains this machine has: the
language defaults (install and script) that Travis would run, with real pip, npm and cargo.
(Java is not here: Maven needs Maven Central, which this machine cannot reach.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import GitRepo

ROUNDHOUSE = Path(sys.executable).with_name("roundhouse")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def run_local(repo: GitRepo) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDHOUSE_")}
    done = subprocess.run(
        [str(ROUNDHOUSE), "run-local"],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, ANSI.sub("", done.stdout + done.stderr)


@pytest.mark.slow
def test_python_project_installs_requirements_and_runs_pytest(
    git_repo: Callable[..., GitRepo],
) -> None:
    repo = git_repo()
    repo.commit(
        {
            ".travis.yml": 'language: python\npython: "3.11"\nscript: python -m pytest -q\n',
            "requirements.txt": "pytest\n",
            "calc/__init__.py": "def add(a, b):\n    return a + b\n",
            "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n"
            "    assert add(1, 2) == 3\n",
        }
    )

    code, log = run_local(repo)

    assert code == 0, log
    assert "$ pip install -r requirements.txt" in log
    assert "1 passed" in log
    assert 'The command "python -m pytest -q" exited with 0.' in log


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_node_project_runs_npm_test(git_repo: Callable[..., GitRepo]) -> None:
    repo = git_repo()
    repo.commit(
        {
            ".travis.yml": "language: node_js\nnode_js: node\n",
            "package.json": '{"name": "demo", "version": "1.0.0", '
            '"scripts": {"test": "node test.js"}}\n',
            "test.js": 'require("assert").strictEqual(1 + 2, 3);\nconsole.log("node-ok");\n',
        }
    )

    code, log = run_local(repo)

    assert code == 0, log
    assert "$ npm test" in log and "node-ok" in log


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")
def test_rust_project_builds_and_tests_with_cargo(git_repo: Callable[..., GitRepo]) -> None:
    repo = git_repo()
    repo.commit(
        {
            ".travis.yml": "language: rust\n",
            "Cargo.toml": '[package]\nname = "calc"\nversion = "0.1.0"\nedition = "2021"\n',
            "src/lib.rs": "pub fn add(a: i32, b: i32) -> i32 { a + b }\n\n"
            "#[cfg(test)]\nmod tests {\n    #[test]\n"
            "    fn adds() { assert_eq!(super::add(1, 2), 3); }\n}\n",
        }
    )

    code, log = run_local(repo)

    assert code == 0, log
    assert "$ cargo build --verbose" in log
    assert "test tests::adds ... ok" in log
