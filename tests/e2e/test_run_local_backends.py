"""`roundhouse run-local --backend bwrap|docker` on a real git repository: the build's job runs
in a bubblewrap sandbox, or in a podman container through the Docker API, cloning the
project through the worker's mirror, and the command exits as the build ended.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import GitRepo
from tests.integration.backends.podman import build_test_image, podman_service, podman_unavailable
from tests.integration.backends.support import bwrap_unavailable

ROUNDHOUSE = Path(sys.executable).with_name("roundhouse")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TRAVIS_YML = """\
language: shell
script:
  - id -un
  - git log --format=%s -1
  - test -f README.md
  - echo "shell pid=$$"
"""
NO_BWRAP = bwrap_unavailable()


def run_local(repo: GitRepo, *args: str, **env: str) -> tuple[int, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDHOUSE_")}
    done = subprocess.run(
        [str(ROUNDHOUSE), "run-local", *args],
        cwd=repo.path,
        env={**clean, "ROUNDHOUSE_DATA_DIR": str(repo.path / ".roundhouse"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, ANSI.sub("", done.stdout + done.stderr)


def project(git_repo: Callable[..., GitRepo]) -> GitRepo:
    repo = git_repo()
    repo.commit({".travis.yml": TRAVIS_YML, "README.md": "hi\n"}, message="the first commit")
    return repo


def assert_ran_isolated(code: int, log: str, backend: str) -> None:
    assert code == 0, log
    assert f"backend: {backend}" in log
    assert "$ id -un\ntravis\n" in log
    assert "$ git log --format=%s -1\nthe first commit\n" in log
    found = re.search(r"shell pid=(\d+)", log)
    assert found is not None and int(found.group(1)) <= 2  # its own pid namespace
    assert log.rstrip().endswith("Build passed")


@pytest.mark.skipif(NO_BWRAP is not None, reason=f"bwrap cannot run here: {NO_BWRAP}")
def test_run_local_in_a_bwrap_sandbox(git_repo: Callable[..., GitRepo]) -> None:
    code, log = run_local(project(git_repo), "--backend", "bwrap", "--image", "host")

    assert_ran_isolated(code, log, "bwrap")


@pytest.mark.skipif(NO_BWRAP is not None, reason=f"bwrap cannot run here: {NO_BWRAP}")
def test_run_local_names_the_images_there_are(git_repo: Callable[..., GitRepo]) -> None:
    code, log = run_local(project(git_repo), "--backend", "bwrap")

    assert code == 2
    assert "This worker has no image 'focal' (images here: host)" in log
    assert log.rstrip().endswith("Build errored")


@pytest.mark.skipif(podman_unavailable() is not None, reason="podman cannot run here")
@pytest.mark.timeout(180)
def test_run_local_in_a_container(git_repo: Callable[..., GitRepo]) -> None:
    repo = project(git_repo)
    with podman_service() as url:
        image = build_test_image()
        code, log = run_local(
            repo, "--backend", "docker", "--image", image, ROUNDHOUSE_DOCKER_URL=url
        )

    assert_ran_isolated(code, log, "docker")


def test_run_local_refuses_an_unknown_backend(git_repo: Callable[..., GitRepo]) -> None:
    code, log = run_local(project(git_repo), "--backend", "vm")

    assert code == 2
    assert "run-local supports local, bwrap, docker" in log
