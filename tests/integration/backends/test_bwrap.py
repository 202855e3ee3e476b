"""The bwrap backend for real: bubblewrap, cgroups, an unprivileged uid, jobs run through the
worker's Runner. Each test proves one promise of isolation and clean teardown.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from roundhouse.worker.backends.bwrap import BwrapBackend, place_name
from roundhouse.worker.runner import JobControl
from tests.conftest import wait_for
from tests.integration.backends.support import (
    alive,
    bwrap_unavailable,
    payload,
    processes_of,
    reachable_dir,
    run_job,
)

UNAVAILABLE = bwrap_unavailable()
pytestmark = pytest.mark.skipif(
    UNAVAILABLE is not None, reason=f"the bwrap backend cannot run here: {UNAVAILABLE}"
)
REPO_ROOT = Path(__file__).parents[3]
# Three sleeps that try to outlive the job: a child, a setsid daemon, a double-forked one.
ESCAPERS = "sleep 301 & setsid sleep 302 & (setsid sh -c 'sleep 303 &' &); echo started; wait"


def sleepers(name: str) -> list[str]:
    """Command lines of the job's `sleep 30x` processes, as seen from the host."""
    found = []
    for pid in processes_of(name):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if command.startswith(b"sleep 30"):
            found.append(command.decode().strip())
    return found


def three_sleeping(name: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(sleepers(name)) == 3

    return check


def assert_nothing_left(bwrap: BwrapBackend, work_dir: Path, name: str) -> None:
    assert processes_of(name) == []
    assert [path for path in work_dir.iterdir()] == []
    assert not any((parent / name).exists() for parent in bwrap.cgroup_parents.values())


async def test_job_runs_unprivileged_in_its_own_pid_namespace(
    bwrap: BwrapBackend, work_dir: Path
) -> None:
    script = (
        'echo "uid=$(id -u) user=$(id -un) pid=$$ home=$HOME"\n'
        f"kill -0 {os.getpid()} 2>/dev/null && echo 'worker: signalled' || echo 'worker: hidden'\n"
        'echo "$(hostname) resolves to $(getent hosts "$(hostname)" | cut -f1)"\n'
    )
    job = payload(script)
    outcome = await run_job(bwrap, work_dir, job)

    assert outcome.state == "passed", outcome.log
    assert "uid=2000 user=travis pid=2 home=/home/travis" in outcome.log
    assert "worker: hidden" in outcome.log
    assert f"job-{job['job']['id']} resolves to 127.0.0.1" in outcome.log


async def test_job_cannot_read_the_hosts_secrets(bwrap: BwrapBackend, work_dir: Path) -> None:
    settings_file = work_dir.parent / "data" / "roundhouse.toml"
    settings_file.parent.mkdir()
    settings_file.write_text('token = "worker-secret"\n')
    settings_file.parent.chmod(0o755)
    settings_file.chmod(0o644)  # even readable by anyone, it must not be in the sandbox
    script = (
        "ls /root 2>&1\n"
        f"cat {settings_file} 2>&1\n"
        'echo "etc/default: $(ls -A /etc/default | wc -l) entries"\n'
    )
    outcome = await run_job(bwrap, work_dir, payload(script))

    assert "ls: cannot access '/root': No such file or directory" in outcome.log
    assert f"{settings_file}: No such file or directory" in outcome.log
    assert "worker-secret" not in outcome.log
    assert "etc/default: 0 entries" in outcome.log


async def test_writes_outside_the_checkout_vanish(bwrap: BwrapBackend, work_dir: Path) -> None:
    write = (
        "mkdir -p $HOME/build && for f in /tmp/m /var/tmp/m $HOME/m $HOME/build/m; do "
        "echo x > $f; done\n"
        'echo "written: $(cat /tmp/m /var/tmp/m $HOME/m $HOME/build/m | wc -l)"\n'
        "touch /usr/m /etc/m 2>&1\n"
    )
    first = await run_job(bwrap, work_dir, payload(write))
    second = await run_job(bwrap, work_dir, payload("ls /tmp/m /var/tmp/m ~/m ~/build/m 2>&1"))

    assert "written: 4" in first.log
    assert "touch: cannot touch '/usr/m': Read-only file system" in first.log
    assert "touch: cannot touch '/etc/m': Read-only file system" in first.log
    assert second.log.count("No such file or directory") == 4
    assert list(work_dir.iterdir()) == []


async def test_memory_hog_is_killed_and_errors_the_job(
    make_bwrap: Callable[..., BwrapBackend], work_dir: Path
) -> None:
    bwrap = make_bwrap(sandbox_memory_mb=64)
    script = "python3 -c 'b = bytearray(512 << 20)'; echo \"hog exited with $?\"\n"

    outcome = await run_job(bwrap, work_dir, payload(script))

    assert outcome.state == "errored"
    assert "hog exited with 137" in outcome.log
    assert "memory limit exceeded (64 MB)" in outcome.log


@pytest.mark.serial  # fills the machine's process table for a moment: not beside other tests
async def test_fork_bomb_is_contained(
    make_bwrap: Callable[..., BwrapBackend], work_dir: Path
) -> None:
    bwrap = make_bwrap(sandbox_pids=64)
    job = payload("bomb() { bomb | bomb & }; bomb; wait\n")
    name = place_name(job)
    control = JobControl()
    running = asyncio.create_task(run_job(bwrap, work_dir, job, control))
    pids_current = bwrap.cgroup_parents["pids"] / name / "pids.current"

    async def at_the_limit_or_over() -> bool:
        try:
            return running.done() or int(pids_current.read_text()) >= 60
        except FileNotFoundError:  # not made yet, or removed as the job ended
            return False

    # On a loaded machine the bomb may hit the limit and die out between two looks.
    await wait_for(at_the_limit_or_over, 30, "the fork bomb to reach the process limit")
    if running.done():
        assert "fork: retry: Resource temporarily unavailable" in running.result().log
    else:
        assert int(pids_current.read_text()) <= 64
        assert subprocess.run(["true"]).returncode == 0  # the host still forks
        control.canceled.set()
        assert (await running).state == "canceled"
    assert_nothing_left(bwrap, work_dir, name)


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.mark.parametrize(("network", "expected"), [(None, "refused"), (True, "connected")])
async def test_network_is_off_unless_the_job_may_use_it(
    bwrap: BwrapBackend, work_dir: Path, listener: int, network: bool | None, expected: str
) -> None:
    connect = f"(exec 3<>/dev/tcp/127.0.0.1/{listener}) 2>/dev/null"
    script = f"{connect} && echo network: connected || echo network: refused"
    job = payload(script) if network is None else payload(script, network=network)

    outcome = await run_job(bwrap, work_dir, job)

    assert f"network: {expected}" in outcome.log


async def test_daemons_end_with_the_job(bwrap: BwrapBackend, work_dir: Path) -> None:
    script = (
        "setsid sh -c 'touch /tmp/one; exec sleep 301' </dev/null >/dev/null 2>&1 &\n"
        "(setsid sh -c 'touch /tmp/two; exec sleep 302' </dev/null >/dev/null 2>&1 &)\n"
        "until [ -e /tmp/one ] && [ -e /tmp/two ]; do sleep 0.01; done; echo daemons up\n"
    )
    job = payload(script)
    running = await bwrap.start(job, work_dir)

    assert b"daemons up" in await running.output.read()
    assert await running.wait() == 0

    async def daemons_gone() -> bool:
        return processes_of(place_name(job)) == []

    # Without cleanup(): the end of the job's pid namespace takes the daemons along.
    await wait_for(daemons_gone, 2, "the daemons to end with the job")
    await running.cleanup()
    assert_nothing_left(bwrap, work_dir, place_name(job))


async def test_cancel_leaves_no_process(bwrap: BwrapBackend, work_dir: Path) -> None:
    job = payload(ESCAPERS)
    control = JobControl()
    running = asyncio.create_task(run_job(bwrap, work_dir, job, control))

    await wait_for(three_sleeping(place_name(job)), 10, "the job's three sleeps")
    started = time.monotonic()
    control.canceled.set()
    outcome = await running

    assert time.monotonic() - started < 2
    assert outcome.state == "canceled"
    assert "Done: Job canceled" in outcome.log
    assert_nothing_left(bwrap, work_dir, place_name(job))


@pytest.mark.parametrize(
    ("timeouts", "message"),
    [
        ({"hard_limit": 1, "log_silence": 60}, "exceeded the maximum time limit"),
        ({"hard_limit": 60, "log_silence": 1}, "No output has been received in the last 0m1s"),
    ],
    ids=["hard", "no-output"],
)
async def test_timeouts_leave_no_process(
    bwrap: BwrapBackend, work_dir: Path, timeouts: dict[str, int], message: str
) -> None:
    job = payload(ESCAPERS, timeouts=timeouts)
    running = asyncio.create_task(run_job(bwrap, work_dir, job))

    await wait_for(three_sleeping(place_name(job)), 10, "the job's three sleeps")
    outcome = await running

    assert outcome.state == "errored"
    assert message in outcome.log
    assert_nothing_left(bwrap, work_dir, place_name(job))


WORKER = """
import asyncio, sys
from pathlib import Path
from roundhouse.settings import Settings
from roundhouse.worker.backends.bwrap import BwrapBackend
from tests.integration.backends.support import payload

async def main() -> None:
    data_dir, work_dir, script = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    backend = BwrapBackend(Settings(backend="bwrap", data_dir=data_dir, images={"host": "host"}))
    job = await backend.start(payload(script), work_dir)
    while line := await job.output.readline():
        print(line.decode().strip(), flush=True)

asyncio.run(main())
"""


async def test_cleanup_leftovers_after_the_worker_was_killed(
    bwrap: BwrapBackend, work_dir: Path
) -> None:
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WORKER,
        str(work_dir.parent / "data"),
        str(work_dir),
        ESCAPERS,
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert worker.stdout is not None
    assert await asyncio.wait_for(worker.stdout.readline(), 30) == b"started\n"
    [leftover] = [path.name for path in work_dir.iterdir()]
    await wait_for(three_sleeping(leftover), 10, "the job's three sleeps")
    pids = processes_of(leftover)

    worker.kill()  # SIGKILL: the worker cannot clean anything up
    await worker.wait()

    assert await bwrap.cleanup_leftovers(work_dir) == [leftover]
    assert not any(alive(pid) for pid in pids)
    assert_nothing_left(bwrap, work_dir, leftover)


async def test_cleanup_leftovers_kills_what_still_runs(
    make_bwrap: Callable[..., BwrapBackend], work_dir: Path
) -> None:
    """A job the worker lost track of: its processes are alive until the cleanup."""
    job = payload(ESCAPERS)
    running = await make_bwrap().start(job, work_dir)
    assert await running.output.readline() == b"started\n"
    await wait_for(three_sleeping(place_name(job)), 10, "the job's three sleeps")

    fresh_worker = make_bwrap()
    assert await fresh_worker.cleanup_leftovers(work_dir) == [place_name(job)]

    assert await running.wait() < 0  # killed by a signal
    assert_nothing_left(fresh_worker, work_dir, place_name(job))


async def test_missing_image_errors_at_once_naming_the_images(
    make_bwrap: Callable[..., BwrapBackend], work_dir: Path
) -> None:
    bwrap = make_bwrap(images={"host": "host", "jammy": "/srv/images/jammy"})
    job = payload("echo never runs")
    job["config"] = {"dist": "noble"}

    outcome = await run_job(bwrap, work_dir, job)

    assert outcome.state == "errored"
    assert "This worker has no image 'noble' (images here: host, jammy)" in outcome.log
    assert "never runs" not in outcome.log


def copy_with_links(path: Path, root: Path) -> None:
    """Copy a host file into root at the same place, with the symlinks that lead to it."""
    while True:
        target = root / Path(os.path.realpath(path.parent)).relative_to("/") / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_symlink():
            shutil.copy2(path, target)
            return
        if not target.is_symlink():
            target.symlink_to(os.readlink(path))
        path = path.parent / os.readlink(path)


@pytest.fixture
def tiny_image() -> Iterator[Path]:
    """A root filesystem with bash, cat and ls and their libraries, copied from the host."""
    with reachable_dir() as root:
        for program in ("bash", "cat", "ls"):
            binary = shutil.which(program) or program
            libraries = subprocess.run(["ldd", binary], capture_output=True, text=True)
            paths = [word for word in libraries.stdout.split() if word.startswith("/")]
            for path in [binary, *paths]:
                copy_with_links(Path(path), root)
        for name in ("bin", "sbin", "lib", "lib64"):  # merged /usr, like the host
            if Path(f"/{name}").is_symlink():
                (root / name).symlink_to(os.readlink(f"/{name}"))
        (root / "etc").mkdir()
        (root / "etc" / "image-name").write_text("tiny\n")
        yield root


async def test_root_filesystem_image(
    make_bwrap: Callable[..., BwrapBackend], work_dir: Path, tiny_image: Path
) -> None:
    bwrap = make_bwrap(images={"tiny": str(tiny_image)})
    job = payload("cat /etc/image-name; ls /")
    job["config"] = {"dist": "tiny"}

    outcome = await run_job(bwrap, work_dir, job)

    assert outcome.state == "passed", outcome.log
    listing = outcome.log.split("tiny\n", 1)[1].split()
    assert {"bin", "etc", "home", "proc", "tmp", "usr"} <= set(listing)
    assert not {"srv", "opt", "root"} & set(listing)  # the host's, not the image's
