"""The real `roundhouse` console script for the offline `.travis.yml` commands: lint, matrix,
encrypt, compile and run-local (the latter in a real git repository, with bash and git).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from roundhouse.travisyml.crypto import (
    decrypt,
    encrypt,
    generate_private_key,
    load_private_key,
    public_key_pem,
)
from tests.conftest import GitRepo

ROUNDHOUSE = Path(sys.executable).parent / "roundhouse"

LINTED = """\
language: pyhton
python:
  - "3.10"
script: pytest
jobs:
  include:
    - if: branch = = main
      script: echo broken
"""


@dataclass
class Result:
    code: int
    out: str
    err: str


def run(*args: str, cwd: Path, stdin: str = "") -> Result:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDHOUSE_")}
    done = subprocess.run(
        [str(ROUNDHOUSE), *args], cwd=cwd, env=env, input=stdin, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def private_pem() -> bytes:
    return generate_private_key(2048)


def test_lint_reports_lines_and_exits_1_on_errors(tmp_path: Path) -> None:
    (tmp_path / ".travis.yml").write_text(LINTED)
    result = run("lint", cwd=tmp_path)
    assert result.code == 1
    lines = result.out.splitlines()
    assert ".travis.yml:1: [warn] on language: value pyhton is not known, but python is, " \
        "using python" in lines  # fmt: skip
    assert any(
        line.startswith(".travis.yml:7: [error] on jobs.include.if: invalid condition")
        for line in lines
    ), lines


def test_lint_clean_file_json_and_imports(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "base.yml").write_text("import: ./python.yml\nscript: make test\n")
    (tmp_path / "ci" / "python.yml").write_text("python: ['3.11', '3.12']\n")
    config = "language: python\nos: linux\ndist: jammy\nimport:\n  - ci/base.yml\n" \
        "  - other/repo:shared.yml\n"  # fmt: skip
    (tmp_path / "ci.yml").write_text(config)
    result = run("lint", "ci.yml", "--json", cwd=tmp_path)
    assert result.code == 0, result
    data = json.loads(result.out)
    assert data["valid"] is True
    assert [(m["level"], m["code"]) for m in data["messages"]] == [("warn", "import_not_resolved")]
    matrix = json.loads(run("matrix", "ci.yml", "--json", cwd=tmp_path).out)
    assert [job["config"]["python"] for job in matrix["jobs"]] == ["3.11", "3.12"]
    assert matrix["jobs"][0]["config"]["script"] == ["make test"]


def test_lint_missing_file_is_one_sentence(tmp_path: Path) -> None:
    result = run("lint", "nope.yml", cwd=tmp_path)
    assert result.code == 2
    assert (
        result.err.strip() == "roundhouse: nope.yml is not a file; pass the path of a .travis.yml"
    )


MATRIX = """\
language: python
python: ["3.10", "3.11"]
env:
  global: GLOBAL=1
  jobs: [DB=pg]
branches:
  only: [main, /^release-.*$/]
stages:
  - test
  - name: deploy
    if: type = push
jobs:
  include:
    - stage: deploy
      python: "3.11"
      script: ./deploy.sh
script: pytest
"""


def test_matrix_json_follows_the_interface(tmp_path: Path) -> None:
    (tmp_path / ".travis.yml").write_text(MATRIX)
    result = run("matrix", "--json", "--branch", "main", cwd=tmp_path)
    assert result.code == 0, result
    data = json.loads(result.out)
    assert set(data) == {"accepted", "reason", "stages", "fast_finish", "jobs", "messages"}
    assert data["stages"] == ["test", "deploy"]
    assert [(j["number"], j["stage"]) for j in data["jobs"]] == [
        (1, "test"), (2, "test"), (3, "deploy"),
    ]  # fmt: skip
    assert data["jobs"][0]["config"]["python"] == "3.10"
    assert data["jobs"][0]["config"]["env"] == ["GLOBAL=1", "DB=pg"]
    pull = json.loads(run("matrix", "--json", "--branch", "main", "--pull-request", "7",
                          cwd=tmp_path).out)  # fmt: skip
    assert [j["stage"] for j in pull["jobs"]] == ["test", "test"]


def test_matrix_rejected_request_exits_1(tmp_path: Path) -> None:
    (tmp_path / ".travis.yml").write_text(MATRIX)
    result = run("matrix", "--branch", "feature", cwd=tmp_path)
    assert result.code == 1
    assert "Not built: branch 'feature' is not in the branches safelist" in result.out
    human = run("matrix", "--branch", "release-1", cwd=tmp_path)
    assert human.code == 0
    assert "3 jobs in stages test, deploy:" in human.out


def test_encrypt_with_a_key_file(tmp_path: Path, private_pem: bytes) -> None:
    (tmp_path / "repo.pub").write_bytes(public_key_pem(private_pem))
    result = run("encrypt", "TOKEN=abc def", "--key", "repo.pub", cwd=tmp_path)
    assert result.code == 0, result
    line = result.out.strip()
    assert line.startswith('secure: "') and line.endswith('"')
    assert decrypt(load_private_key(private_pem), line[9:-1]) == "TOKEN=abc def"
    piped = run("encrypt", "--key", "repo.pub", "--json", cwd=tmp_path, stdin="A=1\n")
    assert decrypt(load_private_key(private_pem), json.loads(piped.out)[0]["secure"]) == "A=1"


@pytest.fixture
def key_server(private_pem: bytes) -> Iterator[str]:
    """A stand-in for the platform's `GET /api/repo/{slug}/key`."""
    pem = public_key_pem(private_pem)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/api/repo/acme%2Fwidget/key"
            self.send_response(200 if found else 404)
            self.send_header("content-type", "application/json")
            self.end_headers()
            body = {"key": pem.decode()} if found else {"error": "repository not found"}
            self.wfile.write(json.dumps(body).encode())

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_encrypt_with_the_platform_key(tmp_path: Path, private_pem: bytes, key_server: str) -> None:
    result = run("encrypt", "A=1", "--repo", "acme/widget", "--url", key_server, cwd=tmp_path)
    assert result.code == 0, result
    assert decrypt(load_private_key(private_pem), result.out.strip()[9:-1]) == "A=1"
    missing = run("encrypt", "A=1", "--repo", "acme/none", "--url", key_server, cwd=tmp_path)
    assert missing.code == 1
    assert "repository not found (HTTP 404)" in missing.err


PROJECT = """\
language: shell
env:
  global:
    - secure: "{secret}"
  jobs:
    - WHO=world
    - WHO=moon
script:
  - echo "hello $WHO"
  - echo "the secret is $SECRET"
  - test -f hello.sh
"""


def test_compile_prints_the_job_script(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path)
    repo.commit({".travis.yml": PROJECT.format(secret="c2VjdXJl"), "hello.sh": "echo hi\n"})
    result = run("compile", "--job", "2", cwd=tmp_path)
    assert result.code == 0, result
    assert result.out.startswith("#!/bin/bash\n")
    assert "_rh_export WHO 'moon'" in result.out
    assert "[warn] on env: dropping secure values" in result.err
    assert run("compile", "--job", "3", cwd=tmp_path).code == 2


def test_run_local_runs_every_job_and_masks_secrets(tmp_path: Path, private_pem: bytes) -> None:
    secret = encrypt(public_key_pem(private_pem), "SECRET=hunter2hunter2")
    (tmp_path / "project").mkdir()
    repo = GitRepo(tmp_path / "project")
    repo.commit({".travis.yml": PROJECT.format(secret=secret), "hello.sh": "echo hi\n"})
    (tmp_path / "repo.key").write_bytes(private_pem)
    result = run("run-local", "--key", str(tmp_path / "repo.key"), cwd=repo.path)
    assert result.code == 0, result
    assert "hello world" in result.out and "hello moon" in result.out
    assert "the secret is [secure]" in result.out
    assert "hunter2" not in result.out
    assert "export SECRET=[secure]" in result.out
    assert result.out.rstrip().endswith("Build passed")


def test_run_local_failing_job_exits_1(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path)
    repo.commit({".travis.yml": "language: shell\nscript: 'false'\n"})
    result = run("run-local", "--job", "1", cwd=tmp_path)
    assert result.code == 1
    assert 'The command "false" exited with 1.' in result.out
    assert "Job 1: failed" in result.out
