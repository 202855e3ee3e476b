"""Languages: version selection from what the machine has, default steps, version variables.

Toolchains that are absent make their tests skip with the reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from script_support import Sandbox, payload

from roundhouse.script import compile_script

MISSING = "Install it on the worker image, or choose an installed version in .travis.yml."


def _python_version() -> str:
    done = subprocess.run(
        ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_python_job_runs_in_a_fresh_virtualenv(sandbox: Sandbox) -> None:
    version = _python_version()
    sandbox.stub_virtualenvs = ()
    config = {"language": "python", "python": version, "script": ["command -v python pip"]}
    run = sandbox.run(sandbox.job(config, files={"requirements.txt": ""}), timeout=60)
    venv = sandbox.home / "virtualenv" / f"python{version}"
    assert (
        f"$ python{version} -m venv {venv}" in run.lines or f"$ python3 -m venv {venv}" in run.lines
    )
    assert f"$ source {venv}/bin/activate" in run.lines
    assert f"{venv}/bin/python" in run.lines
    assert "$ python --version" in run.lines
    assert "$ pip install -r requirements.txt" in run.lines
    assert run.code == 0


@pytest.mark.parametrize(
    ("language", "key", "name"),
    [("python", "python", "Python"), ("node_js", "node_js", "Node.js"), ("go", "go", "Go")],
)
def test_absent_version_errors_the_job(
    sandbox: Sandbox, language: str, key: str, name: str
) -> None:
    config = {"language": language, key: "0.0.1", "git": {"clone": False}, "script": ["echo never"]}
    run = sandbox.run(payload(config), extra_env={"NVM_DIR": str(sandbox.root / "no-nvm")})
    assert any(
        line.startswith(f"{name} 0.0.1 is not installed on this machine") for line in run.lines
    )
    assert MISSING in run.lines
    assert "never" not in run.lines
    assert run.code == 2


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_node_project_with_defaults(sandbox: Sandbox) -> None:
    package = {"name": "demo", "version": "1.0.0", "scripts": {"test": "echo npm-tests-ran"}}
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    config = {"language": "node_js", "node_js": node.lstrip("v").split(".")[0]}
    run = sandbox.run(sandbox.job(config, files={"package.json": json.dumps(package)}), timeout=60)
    assert "$ npm install" in run.lines
    assert "$ npm test" in run.lines
    assert "npm-tests-ran" in run.lines
    assert 'The command "npm test" exited with 0.' in run.lines
    assert "travis_fold:start:install\r\x1b[0K" in run.raw
    assert run.code == 0


def test_defaults_chosen_by_project_files() -> None:
    ruby = compile_script(payload({"language": "ruby"}))
    assert "bundle install --jobs=3 --retry=3" in ruby
    assert "'bundle exec rake'" in ruby
    go = compile_script(payload({"language": "go"}))
    assert "'go test -v ./...'" in go
    rust = compile_script(payload({"language": "rust"}))
    assert "'cargo build --verbose'" in rust and "'cargo test --verbose'" in rust
    java = compile_script(payload({"language": "java"}))
    assert "mvn test -B" in java and "./gradlew check" in java


def test_c_compiler_exports(sandbox: Sandbox) -> None:
    config = {
        "language": "c",
        "compiler": "clang",
        "git": {"clone": False},
        "script": ['echo "$CC $CXX"'],
    }
    run = sandbox.run(payload(config))
    assert "$ export CC=clang" in run.lines
    assert "clang clang++" in run.lines
    assert "$ $CC --version" in run.lines


def test_version_variables_for_each_language() -> None:
    script = compile_script(payload({"language": "ruby", "rvm": "3.2", "jdk": "openjdk17"}))
    assert "export TRAVIS_RUBY_VERSION='3.2'" in script
    assert "export TRAVIS_JDK_VERSION='openjdk17'" in script
