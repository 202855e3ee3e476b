"""`services:` inside the job's environment, for real: the compiled script starts redis-server
in the bwrap sandbox and in the podman container, and the job reaches it at localhost in its
own network namespace, apart from the host's redis; and a PostgreSQL of the job's own user.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from roundhouse.protocol import JobPayload
from roundhouse.worker.backends.base import Backend
from roundhouse.worker.backends.bwrap import BwrapBackend, place_name
from roundhouse.worker.backends.docker import DockerBackend
from tests.integration.backends.podman import podman_unavailable
from tests.integration.backends.support import (
    bwrap_unavailable,
    compiled_job,
    processes_of,
    run_job,
)

NO_REDIS = shutil.which("redis-server") is None or shutil.which("redis-cli") is None
NO_POSTGRESQL = not list(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
NO_BWRAP = bwrap_unavailable()
pytestmark = pytest.mark.timeout(60)


def redis_job(key: str) -> JobPayload:
    script = [f"redis-cli set {key} from-the-job", "redis-cli info server | grep process_id"]
    return compiled_job({"services": ["redis"], "script": script})


def host_redis_has(key: str) -> bool | None:
    """Whether the host's own redis has the key; None when none answers on the host."""
    answer = subprocess.run(["redis-cli", "exists", key], capture_output=True, text=True)
    if answer.returncode != 0 or not answer.stdout.strip().isdigit():
        return None
    return answer.stdout.strip() == "1"


async def assert_own_redis(backend: Backend, work_dir: Path) -> JobPayload:
    key = f"roundhouse-test-{uuid.uuid4().hex}"
    job = redis_job(key)

    outcome = await run_job(backend, work_dir, job)

    assert outcome.state == "passed", outcome.log
    assert "$ redis-server --daemonize yes --bind 127.0.0.1 --dir /tmp" in outcome.log
    assert f"$ redis-cli set {key} from-the-job\nOK" in outcome.log
    # The server the job reached at localhost is a process of the job's own pid namespace...
    found = re.search(r"process_id:(\d+)", outcome.log)
    assert found is not None, outcome.log
    assert int(found.group(1)) < 100
    # ...and not the host's redis, which (if there is one) never saw the key.
    assert host_redis_has(key) in (False, None)
    return job


@pytest.mark.skipif(NO_REDIS, reason="redis-server is not installed")
@pytest.mark.skipif(NO_BWRAP is not None, reason=f"the bwrap backend cannot run here: {NO_BWRAP}")
async def test_redis_runs_inside_the_bwrap_sandbox(bwrap: BwrapBackend, work_dir: Path) -> None:
    job = await assert_own_redis(bwrap, work_dir)

    assert processes_of(place_name(job)) == []  # the daemon went with the job
    assert list(work_dir.iterdir()) == []


@pytest.mark.skipif(NO_REDIS, reason="redis-server is not installed")
@pytest.mark.skipif(podman_unavailable() is not None, reason="podman cannot run here")
async def test_redis_runs_inside_the_container(
    docker_backend: DockerBackend, work_dir: Path
) -> None:
    job = await assert_own_redis(docker_backend, work_dir)

    label = f"roundhouse.lease={job['lease']}"
    assert docker_backend.api.containers(all=True, filters={"label": label}) == []


@pytest.mark.skipif(NO_POSTGRESQL, reason="PostgreSQL's server is not installed")
@pytest.mark.skipif(NO_BWRAP is not None, reason=f"the bwrap backend cannot run here: {NO_BWRAP}")
async def test_postgresql_runs_inside_the_bwrap_sandbox_as_on_travis(
    bwrap: BwrapBackend, work_dir: Path
) -> None:
    script = [
        "psql -U postgres -c 'create database travis_ci_test;'",
        "psql -U postgres -tAc 'select current_database(), current_user' travis_ci_test",
    ]
    job = compiled_job({"services": ["postgresql"], "script": script})

    outcome = await run_job(bwrap, work_dir, job)

    assert outcome.state == "passed", outcome.log
    assert "a cluster of the job's user" in outcome.log
    assert "\ntravis_ci_test|postgres\n" in outcome.log
    assert processes_of(place_name(job)) == []
