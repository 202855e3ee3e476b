"""The docker backend for real, against `podman system service`: containers through the Docker
Engine API, jobs run through the worker's Runner. Each test proves one promise of isolation
and clean teardown.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from docker import APIClient

from roundhouse.protocol import JobPayload
from roundhouse.settings import Settings, SettingsError
from roundhouse.worker.backends import docker as docker_backend_module
from roundhouse.worker.backends.bwrap import place_name
from roundhouse.worker.backends.docker import DockerBackend
from roundhouse.worker.runner import JobControl
from tests.conftest import wait_for
from tests.integration.backends.podman import podman_service, podman_unavailable
from tests.integration.backends.support import alive, payload, reachable_dir, run_job

UNAVAILABLE = podman_unavailable()
pytestmark = [
    pytest.mark.skipif(UNAVAILABLE is not None, reason=f"podman cannot run here: {UNAVAILABLE}"),
    pytest.mark.timeout(60),  # anything that streams from the API gets a deadline
]
# Three sleeps that try to outlive the job: a child, a setsid daemon, a double-forked one.
ESCAPERS = "sleep 301 & setsid sleep 302 & (setsid sh -c 'sleep 303 &' &); echo started; wait"


@pytest.fixture(autouse=True)
def sweep(work_dir: Path, podman_url: str) -> Iterator[None]:
    """After a failed test too: no container of its work_dir stays behind."""
    yield
    api = APIClient(base_url=podman_url, version="auto", timeout=30)
    label = f"roundhouse.work_dir={work_dir.resolve()}"
    for container in api.containers(all=True, filters={"label": label}):
        api.remove_container(container["Id"], force=True)
    api.close()


def containers_of(backend: DockerBackend, job: JobPayload) -> list[str]:
    """Containers (in any state) of the job, found by its lease label."""
    found = backend.api.containers(all=True, filters={"label": f"roundhouse.lease={job['lease']}"})
    return [container["Id"] for container in found]


def processes_in(container_id: str) -> list[int]:
    """Host pids of the live processes in the container's cgroups."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            cgroups = Path(f"/proc/{entry}/cgroup").read_text()
        except OSError:
            continue
        if container_id in cgroups and alive(int(entry)):
            pids.append(int(entry))
    return pids


def sleeping(container_id: str, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        commands = []
        for pid in processes_in(container_id):
            try:
                commands.append(Path(f"/proc/{pid}/cmdline").read_bytes())
            except OSError:
                continue
        return sum(command.startswith(b"sleep\x0030") for command in commands) == count

    return check


async def container_id_of(backend: DockerBackend, job: JobPayload) -> str:
    async def created() -> list[str]:
        return await asyncio.to_thread(containers_of, backend, job)

    return str((await wait_for(created, 10, "the job's container"))[0])


def assert_nothing_left(backend: DockerBackend, work_dir: Path, job: JobPayload) -> None:
    assert containers_of(backend, job) == []
    assert list(work_dir.iterdir()) == []


async def test_job_runs_unprivileged_as_pid_1_of_its_own(
    docker_backend: DockerBackend, work_dir: Path
) -> None:
    script = (
        'echo "uid=$(id -u) user=$(id -un) pid=$$ home=$HOME pwd=$(pwd)"\n'
        f"kill -0 {os.getpid()} 2>/dev/null && echo 'worker: signalled' || echo 'worker: hidden'\n"
        'echo "hostname $(hostname)"\n'
    )
    job = payload(script)
    outcome = await run_job(docker_backend, work_dir, job)

    assert outcome.state == "passed", outcome.log
    assert "backend: docker" in outcome.log
    assert "uid=2000 user=travis pid=1 home=/home/travis pwd=/home/travis" in outcome.log
    assert "worker: hidden" in outcome.log
    assert f"hostname job-{job['job']['id']}" in outcome.log
    assert_nothing_left(docker_backend, work_dir, job)


@pytest.mark.parametrize("privileged", [False, True])
async def test_container_has_the_limits_labels_and_privileges_of_the_settings(
    make_docker: Callable[..., DockerBackend], work_dir: Path, privileged: bool
) -> None:
    backend = make_docker(sandbox_cpus=0.5, sandbox_pids=100, docker_privileged=privileged)
    job = payload("sleep 30", repository={**payload("")["repository"], "slug": "team/app"})
    running = await backend.start(job, work_dir)
    try:
        container = backend.api.inspect_container(await container_id_of(backend, job))
    finally:
        await running.kill()
        await running.cleanup()

    host, config = container["HostConfig"], container["Config"]
    assert (host["Memory"], host["MemorySwap"]) == (256 << 20, 256 << 20)
    assert (host["NanoCpus"], host["PidsLimit"]) == (500_000_000, 100)
    assert host["NetworkMode"] == "none"
    assert host["Privileged"] is privileged
    assert ("no-new-privileges" in (host["SecurityOpt"] or [])) is not privileged
    assert host["ReadonlyRootfs"] is True
    assert config["User"] == "2000:2000"
    assert config["Labels"]["roundhouse.job"] == str(job["job"]["id"])
    assert config["Labels"]["roundhouse.repo"] == "team/app"
    assert config["Labels"]["roundhouse.attempt"] == "1"
    assert config["Labels"]["roundhouse.lease"] == job["lease"]
    assert_nothing_left(backend, work_dir, job)


async def test_output_streams_live_in_order(docker_backend: DockerBackend, work_dir: Path) -> None:
    job = payload("echo one; echo two >&2; sleep 0.3; echo three\n")
    running = await docker_backend.start(job, work_dir)
    first = await asyncio.wait_for(running.output.readline(), 5)
    rest = await asyncio.wait_for(running.output.read(), 5)

    assert first == b"one\n"
    assert rest == b"two\nthree\n"
    assert await running.wait() == 0
    await running.cleanup()
    assert_nothing_left(docker_backend, work_dir, job)


async def test_a_job_outlasts_the_api_timeout(
    make_docker: Callable[..., DockerBackend], work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waiting for the exit is one API call per WAIT_STEP: a long job is waited for anew."""
    monkeypatch.setattr(docker_backend_module, "WAIT_STEP", 1)
    outcome = await run_job(make_docker(), work_dir, payload("sleep 2.5; echo done\n"))

    assert outcome.state == "passed", outcome.log
    assert "done" in outcome.log


async def test_job_cannot_read_the_hosts_secrets(
    docker_backend: DockerBackend, work_dir: Path
) -> None:
    settings_file = work_dir.parent / "data" / "roundhouse.toml"
    settings_file.parent.mkdir()
    settings_file.write_text('token = "worker-secret"\n')
    settings_file.chmod(0o644)  # even readable by anyone, it must not be in the container
    outcome = await run_job(
        docker_backend, work_dir, payload(f"ls /root 2>&1; cat {settings_file} 2>&1\n")
    )

    assert "ls: cannot access '/root': No such file or directory" in outcome.log
    assert f"{settings_file}: No such file or directory" in outcome.log
    assert "worker-secret" not in outcome.log


async def test_writes_outside_the_checkout_vanish(
    docker_backend: DockerBackend, work_dir: Path
) -> None:
    write = (
        "mkdir -p $HOME/build && for f in /tmp/m /var/tmp/m $HOME/m $HOME/build/m; do "
        "echo x > $f; done\n"
        'echo "written: $(cat /tmp/m /var/tmp/m $HOME/m $HOME/build/m | wc -l)"\n'
        "touch /usr/m /etc/m 2>&1\n"
    )
    first = await run_job(docker_backend, work_dir, payload(write))
    second = await run_job(
        docker_backend, work_dir, payload("ls /tmp/m /var/tmp/m ~/m ~/build/m 2>&1")
    )

    assert "written: 4" in first.log
    assert "touch: cannot touch '/usr/m': Read-only file system" in first.log
    assert "touch: cannot touch '/etc/m': Read-only file system" in first.log
    assert second.log.count("No such file or directory") == 4
    assert list(work_dir.iterdir()) == []


async def test_memory_hog_is_killed_and_errors_the_job(
    make_docker: Callable[..., DockerBackend], work_dir: Path
) -> None:
    backend = make_docker(sandbox_memory_mb=64)
    # tail keeps the last line, and /dev/zero has no line end: it holds all it reads.
    script = 'tail -n 1 /dev/zero; echo "hog exited with $?"\n'

    outcome = await run_job(backend, work_dir, payload(script))

    assert outcome.state == "errored"
    assert "hog exited with 137" in outcome.log
    assert "memory limit exceeded (64 MB)" in outcome.log


async def test_fork_bomb_is_contained(
    make_docker: Callable[..., DockerBackend], work_dir: Path
) -> None:
    backend = make_docker(sandbox_pids=64)
    job = payload("bomb() { bomb | bomb & }; bomb; sleep 60\n")  # pid 1 lives on
    control = JobControl()
    running = asyncio.create_task(run_job(backend, work_dir, job, control))
    container = await container_id_of(backend, job)

    async def at_the_limit() -> bool:
        return len(processes_in(container)) >= 50

    await wait_for(at_the_limit, 20, "the fork bomb to reach the process limit")
    await asyncio.sleep(0.5)
    assert len(processes_in(container)) <= 64
    assert subprocess.run(["true"]).returncode == 0  # the host still forks
    control.canceled.set()

    assert (await running).state == "canceled"
    assert processes_in(container) == []
    assert_nothing_left(backend, work_dir, job)


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


async def test_network_is_off_unless_the_job_may_use_it(
    docker_backend: DockerBackend, work_dir: Path, listener: int
) -> None:
    connect = f"(exec 3<>/dev/tcp/127.0.0.1/{listener}) 2>/dev/null"
    script = f"{connect} && echo network: connected || echo network: refused; ls /sys/class/net"
    off = await run_job(docker_backend, work_dir, payload(script))
    on = await run_job(docker_backend, work_dir, payload("ls /sys/class/net", network=True))

    assert "network: refused" in off.log
    assert "\nlo\n" in off.log
    assert "eth0" not in off.log
    assert "eth0" in on.log, on.log


async def test_daemons_end_with_the_job(docker_backend: DockerBackend, work_dir: Path) -> None:
    script = (
        "setsid sh -c 'touch /tmp/one; exec sleep 301' </dev/null >/dev/null 2>&1 &\n"
        "(setsid sh -c 'touch /tmp/two; exec sleep 302' </dev/null >/dev/null 2>&1 &)\n"
        "until [ -e /tmp/one ] && [ -e /tmp/two ]; do sleep 0.01; done; echo daemons up\n"
    )
    job = payload(script)
    running = await docker_backend.start(job, work_dir)
    container = await container_id_of(docker_backend, job)

    assert b"daemons up" in await running.output.read()
    assert await running.wait() == 0
    assert processes_in(container) == []  # pid 1 ended: its namespace took the daemons
    await running.cleanup()
    assert_nothing_left(docker_backend, work_dir, job)


async def test_cancel_leaves_no_container(docker_backend: DockerBackend, work_dir: Path) -> None:
    job = payload(ESCAPERS)
    control = JobControl()
    running = asyncio.create_task(run_job(docker_backend, work_dir, job, control))
    container = await container_id_of(docker_backend, job)

    await wait_for(sleeping(container, 3), 10, "the job's three sleeps")
    started = asyncio.get_running_loop().time()
    control.canceled.set()
    outcome = await running

    assert asyncio.get_running_loop().time() - started < 2
    assert outcome.state == "canceled"
    assert "Done: Job canceled" in outcome.log
    assert processes_in(container) == []
    assert_nothing_left(docker_backend, work_dir, job)


@pytest.mark.parametrize(
    ("timeouts", "message"),
    [
        ({"hard_limit": 2, "log_silence": 60}, "exceeded the maximum time limit"),
        ({"hard_limit": 60, "log_silence": 2}, "No output has been received in the last 0m2s"),
    ],
    ids=["hard", "no-output"],
)
async def test_timeouts_leave_no_container(
    docker_backend: DockerBackend, work_dir: Path, timeouts: dict[str, int], message: str
) -> None:
    job = payload(ESCAPERS, timeouts=timeouts)
    running = asyncio.create_task(run_job(docker_backend, work_dir, job))
    container = await container_id_of(docker_backend, job)

    await wait_for(sleeping(container, 3), 10, "the job's three sleeps")
    outcome = await running

    assert outcome.state == "errored"
    assert message in outcome.log
    assert processes_in(container) == []
    assert_nothing_left(docker_backend, work_dir, job)


async def test_cleanup_leftovers_removes_the_containers_of_its_work_dir(
    make_docker: Callable[..., DockerBackend], work_dir: Path
) -> None:
    """A job whose worker was killed: its container runs on until the next worker starts."""
    job = payload(ESCAPERS)
    running = await make_docker().start(job, work_dir)
    assert await asyncio.wait_for(running.output.readline(), 10) == b"started\n"
    with reachable_dir() as elsewhere:
        other = payload(ESCAPERS)
        other_running = await make_docker().start(other, elsewhere / "work")
        try:
            fresh_worker = make_docker()
            assert await fresh_worker.cleanup_leftovers(work_dir) == [place_name(job)]

            assert await running.wait() == 137  # killed
            assert_nothing_left(fresh_worker, work_dir, job)
            assert containers_of(fresh_worker, other) != []  # another work_dir's: left alone
        finally:
            await other_running.kill()
            await other_running.cleanup()


async def test_missing_image_errors_at_once_naming_the_images(
    make_docker: Callable[..., DockerBackend], work_dir: Path, docker_image: str
) -> None:
    backend = make_docker(images={"host": docker_image, "jammy": "localhost/no-such:1"})
    job = payload("echo never runs")
    job["config"] = {"dist": "jammy"}

    outcome = await run_job(backend, work_dir, job)

    assert outcome.state == "errored"
    assert "The image 'localhost/no-such:1' of dist 'jammy' is not in" in outcome.log
    assert docker_image in outcome.log
    job["config"] = {"dist": "noble"}
    outcome = await run_job(backend, work_dir, job)
    assert "This worker has no image 'noble' (images here: host, jammy)" in outcome.log
    assert not work_dir.exists() or list(work_dir.iterdir()) == []


WORKER = """
import asyncio, sys
from pathlib import Path
from roundhouse.settings import Settings
from roundhouse.worker.backends import docker as docker_backend_module
from roundhouse.worker.backends.docker import DockerBackend
from tests.integration.backends.support import payload

async def main() -> None:
    url, image, work_dir, script = sys.argv[1:]
    settings = Settings(backend="docker", docker_url=url, images={"host": image})
    job = await DockerBackend(settings).start(payload(script), Path(work_dir))
    while line := await job.output.readline():
        print(line.decode().strip(), flush=True)

asyncio.run(main())
"""


async def test_cleanup_leftovers_after_the_worker_was_killed(
    docker_backend: DockerBackend, work_dir: Path, podman_url: str, docker_image: str
) -> None:
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WORKER,
        podman_url,
        docker_image,
        str(work_dir),
        ESCAPERS,
        cwd=Path(__file__).parents[3],
        stdout=asyncio.subprocess.PIPE,
    )
    assert worker.stdout is not None
    assert await asyncio.wait_for(worker.stdout.readline(), 30) == b"started\n"
    [leftover] = [path.name for path in work_dir.iterdir()]
    [container] = docker_backend.api.containers(filters={"name": leftover})
    await wait_for(sleeping(container["Id"], 3), 10, "the job's three sleeps")

    worker.kill()  # SIGKILL: the worker cannot clean anything up
    await worker.wait()

    assert await docker_backend.cleanup_leftovers(work_dir) == [leftover]
    assert processes_in(container["Id"]) == []
    assert docker_backend.api.containers(all=True, filters={"name": leftover}) == []
    assert list(work_dir.iterdir()) == []


async def test_a_failed_start_is_one_sentence_and_leaves_nothing(
    work_dir: Path, docker_image: str
) -> None:
    """podman's default ulimits, which a root without CAP_SYS_RESOURCE cannot set."""
    with podman_service(containers_conf='[engine]\nruntime = "runc"\n') as url:
        settings = Settings(backend="docker", docker_url=url, images={"host": docker_image})
        backend = DockerBackend(settings)
        job = payload("echo never runs")
        outcome = await run_job(backend, work_dir, job)

        assert outcome.state == "errored"
        assert "The job could not be started: The container engine could not set" in outcome.log
        assert 'default_ulimits = ["nofile=20000:20000"' in outcome.log
        assert_nothing_left(backend, work_dir, job)


@pytest.mark.parametrize("stale", [False, True], ids=["no-socket", "stale-socket"])
def test_nothing_listening_is_one_sentence(tmp_path: Path, stale: bool) -> None:
    url = f"unix://{tmp_path}/docker.sock"
    if stale:  # the socket file of a server that is gone
        with socket.socket(socket.AF_UNIX) as gone:
            gone.bind(f"{tmp_path}/docker.sock")
    with pytest.raises(SettingsError) as error:
        DockerBackend(Settings(backend="docker", docker_url=url))

    assert str(error.value) == (
        f"Setting backend = 'docker' needs a Docker API, but nothing listens at {url}: "
        "start Docker or podman (`podman system service`), or set docker_url."
    )


class OldDocker(http.server.BaseHTTPRequestHandler):
    """Answers /version like Docker 19.03."""

    def do_GET(self) -> None:
        body = json.dumps({"ApiVersion": "1.40", "Version": "19.03.15"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        request, _ = super().get_request()
        return request, ("local", 0)  # BaseHTTPRequestHandler wants a host and port


def test_too_old_an_api_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "docker.sock"
    with UnixHTTPServer(str(path), OldDocker) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with pytest.raises(SettingsError) as error:
                DockerBackend(Settings(backend="docker", docker_url=f"unix://{path}"))
        finally:
            server.shutdown()

    assert str(error.value) == (
        f"The Docker API at unix://{path} answered version 1.40; Roundhouse needs ≥ 1.41: "
        "upgrade to Docker 20.10 or podman 3 or later."
    )
