"""`roundhouse doctor --worker` on a build machine: each check made to fail for real (closed
port, unknown host, wrong token, unusable backend, unwritable directories) and read."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from roundhouse.ops.doctor.backend import BACKEND_FIX, backend, images, writable
from roundhouse.ops.doctor.network import agreement, hello, platform_address
from roundhouse.platform.workertoken import worker_token
from roundhouse.settings import Settings
from tests.conftest import Running
from tests.integration.broker.rabbitmq import url_of

ROUNDHOUSE = Path(sys.executable).with_name("roundhouse")


def closed_port() -> int:
    """A port that was just bound and closed again: nothing listens there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_closed_port_and_an_unknown_host_name_the_port_and_the_fix() -> None:
    port = closed_port()
    closed = platform_address(f"http://127.0.0.1:{port}")
    assert closed.status == "FAIL"
    assert closed.saw == (
        f"nothing answers on 127.0.0.1 port {port} (platform_url http://127.0.0.1:{port}): "
        "Connection refused"
    )
    assert closed.fix.startswith(
        f"open TCP port {port} from this machine to 127.0.0.1 (firewall, security group)"
    )
    unknown = platform_address("https://no-such-host.invalid")
    assert unknown.status == "FAIL"
    assert unknown.saw.startswith(
        "the platform's host no-such-host.invalid (platform_url) does not resolve: "
    )


async def test_a_wrong_token_is_rejected_and_the_right_one_accepted(
    system: Running, tmp_path: Path
) -> None:
    platform = system.instance.services.ctx.settings
    settings = Settings(
        data_dir=tmp_path,
        platform_url=system.url,
        token="rhw_wrong",
        queues="builds.default,builds.gpu",
    )
    wrong, answer = await asyncio.to_thread(hello, settings)
    assert answer is None
    assert (wrong.status, wrong.saw) == (
        "FAIL",
        "the platform rejected this worker's token: copy it from `roundhouse workers token` on "
        "the platform",
    )
    assert "TOKEN= of /etc/default/roundhouse-worker" in wrong.fix

    right = Settings(**{**settings.model_dump(), "token": worker_token(platform)})
    accepted, answer = await asyncio.to_thread(hello, right)
    assert accepted.status == "ok" and answer is not None
    [routing] = agreement(right, answer)
    assert (routing.name, routing.status) == ("routing builds.gpu", "warn")
    assert routing.saw == (
        "the platform routes no jobs to builds.gpu (default_queue and queue_rules give: "
        "builds.default); only jobs with `queue:` reach it"
    )

    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDHOUSE_")}
    env |= {
        "ROUNDHOUSE_PLATFORM_URL": system.url,
        "ROUNDHOUSE_TOKEN": "rhw_wrong",
        "ROUNDHOUSE_DATA_DIR": str(tmp_path / "worker"),
    }
    process = await asyncio.create_subprocess_exec(
        str(ROUNDHOUSE), "doctor", "--worker", env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 1
    assert (
        "FAIL  worker token: the platform rejected this worker's token: copy it from "
        "`roundhouse workers token` on the platform" in out.decode()
    )
    assert "ok    work_dir: " in out.decode()


def test_a_docker_backend_without_a_docker_api_fails_with_the_backend_s_own_words(
    tmp_path: Path,
) -> None:
    socket_path = tmp_path / "docker.sock"
    settings = Settings(data_dir=tmp_path, backend="docker", docker_url=f"unix://{socket_path}")
    check, made = backend(settings)
    assert made is None
    assert (check.name, check.status) == ("backend docker", "FAIL")
    assert check.saw == (
        f"Setting backend = 'docker' needs a Docker API, but nothing listens at "
        f"unix://{socket_path}: start Docker or podman (`podman system service`), or set "
        "docker_url."
    )


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A directory bind-mounted read-only over itself (root may not write there either)."""
    path = tmp_path / "ro"
    path.mkdir()
    subprocess.run(["mount", "--bind", "-o", "ro", str(path), str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def test_work_directories_the_worker_cannot_write_are_reported(
    read_only: Path, tmp_path: Path
) -> None:
    check = writable("work_dir", read_only / "work")
    assert (check.status, check.saw) == (
        "FAIL",
        f"the worker cannot write in {read_only / 'work'}: Read-only file system",
    )
    assert check.fix.startswith(f"give the worker's user a writable {read_only / 'work'}")

    in_the_way = tmp_path / "work"
    in_the_way.write_text("a file where the directory should be")
    blocked = writable("work_dir", in_the_way)
    assert (blocked.status, blocked.saw) == (
        "FAIL",
        f"the worker cannot write in {in_the_way}: File exists",
    )


async def test_the_worker_doctor_connects_to_its_broker_and_finds_its_queues(
    vhost: str, tmp_path: Path
) -> None:
    from roundhouse.ops.doctor.worker_side import run_worker_checks

    settings = Settings(
        data_dir=tmp_path,
        broker_url=url_of(vhost),
        platform_url=f"http://127.0.0.1:{closed_port()}",
        queues="builds.jammy",
    )
    checks = await run_worker_checks(settings, "a test")
    assert [c.name for c in checks] == [
        "settings",
        "platform address",
        "broker",
        "queue builds.jammy",
        "backend local",
        "work_dir",
        "temporary files",
    ]
    assert (
        checks[0].saw == "settings from a test: worker " + settings.name + ", queues builds.jammy"
    )
    assert [c.status for c in checks] == ["ok", "FAIL", "ok", "warn", "ok", "ok", "ok"]


def test_bubblewrap_not_installed_fails_with_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A PATH without bwrap and setpriv: what a machine without the package looks like.
    monkeypatch.setenv("PATH", str(tmp_path))
    check, made = backend(Settings(data_dir=tmp_path, backend="bwrap"))
    assert made is None
    assert (check.name, check.status) == ("backend bwrap", "FAIL")
    assert "needs bubblewrap and setpriv, which are not installed" in check.saw
    assert check.fix == BACKEND_FIX


def test_an_image_that_is_not_there_fails_naming_the_images_there_are(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, backend="bwrap", images={"host": "host", "focal": str(tmp_path / "no")}
    )
    check, made = backend(settings)
    assert check.status == "ok", check
    assert made is not None

    found = {c.name: c for c in images(settings, made)}

    assert found["image focal"].status == "FAIL"
    assert str(tmp_path / "no") in found["image focal"].saw
    assert found["image focal"].fix == "fix the images setting"
    assert found["image host"].status == "ok"
