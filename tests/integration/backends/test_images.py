"""`roundhouse image build` and `image list` for real, through the command line: an image
unpacked from the tarball cache (fast, seeded with the tests' small image) runs jobs in bwrap
and, imported, in podman; and one real debootstrap image (slow the first time only: its
tarball is cached under ~/.cache/roundhouse-test-images) runs a job with a service in bwrap.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from roundhouse.worker.backends.bwrap import BwrapBackend
from roundhouse.worker.backends.docker import DockerBackend
from roundhouse.worker.imagebuild import host_mirror, recipe
from tests.integration.backends.podman import host_files, image_tar, podman_unavailable
from tests.integration.backends.support import (
    bwrap_unavailable,
    compiled_job,
    payload,
    run_job,
)

ROUNDHOUSE = Path(sys.executable).with_name("roundhouse")
DEBOOTSTRAP_CACHE = Path.home() / ".cache" / "roundhouse-test-images"
UNAVAILABLE = bwrap_unavailable()
pytestmark = pytest.mark.skipif(
    UNAVAILABLE is not None, reason=f"the bwrap backend cannot run here: {UNAVAILABLE}"
)


def roundhouse(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDHOUSE_")}
    return subprocess.run(
        [str(ROUNDHOUSE), *args],
        env={**clean, "ROUNDHOUSE_DATA_DIR": str(data_dir), **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def seeded_cache(cache_dir: Path, mirror: str) -> Path:
    """A cache holding the tests' small image as the tarball of a bookworm recipe."""
    cache_dir.mkdir()
    tarball = cache_dir / recipe("bookworm", mirror, [], 2000, 2000).tarball_name
    tarball.write_bytes(image_tar(host_files()))
    return tarball


def git_job(dist: str) -> Any:
    job = payload("git --version && id -u\n")
    job["config"] = {"dist": dist}
    return job


async def test_image_from_the_cache_runs_jobs_in_bwrap(
    work_dir: Path, make_bwrap: Callable[..., BwrapBackend]
) -> None:
    data_dir = work_dir.parent / "data"
    mirror = "http://deb.example.org/debian"
    seeded_cache(work_dir.parent / "cache", mirror)
    build_args = ["image", "build", "tiny", "--dist", "bookworm", "--mirror", mirror]
    build_args += ["--cache-dir", str(work_dir.parent / "cache")]

    done = roundhouse(data_dir, *build_args)

    assert done.returncode == 0, done.stderr
    assert "Unpacking the cached tree" in done.stderr
    assert "Built tiny (bookworm, " in done.stdout
    listed = json.loads(roundhouse(data_dir, "image", "list", "--json").stdout)
    tiny = next(row for row in listed if row["name"] == "tiny")
    assert tiny["backend"] == "bwrap" and tiny["dist"] == "bookworm" and tiny["size"] > 1e6
    assert tiny["where"] == str((data_dir / "images" / "tiny" / "rootfs").resolve())
    # A job whose dist is the image's name gets it without any `images` entry.
    outcome = await run_job(make_bwrap(images={}, data_dir=data_dir), work_dir, git_job("tiny"))
    assert outcome.state == "passed", outcome.log
    assert "git version" in outcome.log and "\n2000\n" in outcome.log
    # A missing one names it among the images there are.
    outcome = await run_job(make_bwrap(images={}, data_dir=data_dir), work_dir, git_job("focal"))
    assert outcome.state == "errored"
    assert "no image 'focal' (images here: tiny)" in outcome.log


def test_an_image_name_that_cannot_be_one_is_refused(work_dir: Path) -> None:
    done = roundhouse(work_dir.parent / "data", "image", "build", "My/Image")

    assert done.returncode == 1
    assert done.stderr.strip().startswith("roundhouse: 'My/Image' cannot be an image name")


@pytest.mark.skipif(podman_unavailable() is not None, reason="podman cannot run here")
@pytest.mark.timeout(180)
async def test_docker_flag_imports_the_image_for_the_docker_backend(
    work_dir: Path, podman_url: str, make_docker: Callable[..., DockerBackend]
) -> None:
    data_dir = work_dir.parent / "data"
    seeded_cache(work_dir.parent / "cache", host_mirror())
    name = f"tiny-{os.getpid()}"
    build_args = ["image", "build", name, "--docker", "--cache-dir", str(work_dir.parent / "cache")]

    done = roundhouse(data_dir, *build_args, ROUNDHOUSE_DOCKER_URL=podman_url)

    assert done.returncode == 0, done.stderr
    reference = f"localhost/roundhouse/{name}:latest"
    assert f"as {reference}" in done.stdout
    backend = make_docker(images={}, data_dir=data_dir)
    try:
        listed = roundhouse(
            data_dir, "image", "list", "--json", ROUNDHOUSE_DOCKER_URL=podman_url,
            ROUNDHOUSE_BACKEND="docker",
        )  # fmt: skip
        rows = json.loads(listed.stdout)
        assert {"backend": "docker", "name": reference, "dist": "bookworm"}.items() <= next(
            row for row in rows if row["backend"] == "docker" and row["name"] == reference
        ).items()
        outcome = await run_job(backend, work_dir, git_job(name))
        assert outcome.state == "passed", outcome.log
        assert "git version" in outcome.log
    finally:
        backend.api.remove_image(reference, force=True)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_debootstrap_image_runs_a_job_with_a_service_in_bwrap(
    work_dir: Path, make_bwrap: Callable[..., BwrapBackend]
) -> None:
    data_dir = work_dir.parent / "data"
    build_args = ["image", "build", "bookworm", "--dist", "bookworm", "--package", "redis-server"]

    done = roundhouse(data_dir, *build_args, "--cache-dir", str(DEBOOTSTRAP_CACHE))

    assert done.returncode == 0, done.stderr[-3000:]
    script = ["cat /etc/debian_version", "git --version", "redis-cli ping"]
    job = compiled_job({"dist": "bookworm", "services": ["redis"], "script": script})
    outcome = await run_job(make_bwrap(images={}, data_dir=data_dir), work_dir, job)
    assert outcome.state == "passed", outcome.log
    assert "$ cat /etc/debian_version\n12." in outcome.log
    assert "git version 2.39" in outcome.log
    assert "$ redis-cli ping\nPONG" in outcome.log
