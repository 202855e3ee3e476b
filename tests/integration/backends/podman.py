"""podman as the Docker Engine API of the docker backend's tests: a `podman system service`
on a socket of its own, and a small image made of the host's bash, coreutils and git.

The service gets a containers.conf of its own with what this kind of machine needs
(docs/sandbox.md): runc (crun refuses hybrid cgroups), ulimits a root without
CAP_SYS_RESOURCE may set, and event files instead of journald.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from docker import APIClient

CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
events_logger = "file"
"""
# What the tests' jobs and the compiled scripts call, taken from the host with their libraries.
PROGRAMS = (
    "bash",
    "sh",
    "cat",
    "chmod",
    "cp",
    "cut",
    "date",
    "dirname",
    "basename",
    "env",
    "false",
    "getent",
    "grep",
    "head",
    "hostname",
    "id",
    "ln",
    "ls",
    "mkdir",
    "mktemp",
    "printf",
    "rm",
    "sed",
    "setsid",
    "sleep",
    "sort",
    "stat",
    "tail",
    "tee",
    "timeout",
    "touch",
    "tr",
    "true",
    "uname",
    "wc",
    "git",
    "curl",
    "redis-server",
    "redis-cli",
)
# git runs its helpers (upload-pack for a file:// clone) from here; curl reads the CA bundle.
TREES = ("/usr/lib/git-core",)
FILES = ("/etc/ssl/certs/ca-certificates.crt",)
IMAGE_NAME = "localhost/roundhouse-test"


def podman_unavailable() -> str | None:
    """Why the docker backend's tests cannot run here (a skip reason), or None."""
    if os.geteuid() != 0:
        return "the tests run rootful podman, which needs root"
    if shutil.which("podman") is None:
        return "podman is not installed (scripts/ensure-podman installs it)"
    if shutil.which("runc") is None:
        return "runc is not installed (scripts/ensure-podman installs it)"
    return None


@contextmanager
def podman_service(containers_conf: str = CONTAINERS_CONF) -> Iterator[str]:
    """A running `podman system service`; yields its unix:// URL, stops it on exit."""
    with tempfile.TemporaryDirectory(prefix="roundhouse-podman-") as tmp:
        conf = Path(tmp) / "containers.conf"
        conf.write_text(containers_conf)
        url = f"unix://{tmp}/podman.sock"
        service = subprocess.Popen(
            ["podman", "system", "service", "--time=0", url],
            env={**os.environ, "CONTAINERS_CONF": str(conf)},
            stdout=subprocess.DEVNULL,
            stderr=(Path(tmp) / "service.log").open("w"),
        )
        try:
            wait_until_answering(url, service, Path(tmp) / "service.log")
            yield url
        finally:
            service.terminate()
            try:
                service.wait(10)
            except subprocess.TimeoutExpired:
                service.kill()
                service.wait()


def wait_until_answering(url: str, service: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if service.poll() is not None:
            raise RuntimeError(f"podman system service ended: {log.read_text()[-2000:]}")
        if Path(url.removeprefix("unix://")).exists():
            try:
                APIClient(base_url=url, version="auto", timeout=5).close()
                return
            except Exception:  # not answering yet
                pass
        time.sleep(0.05)
    raise RuntimeError(f"podman system service did not answer at {url} within 30 s")


def host_files() -> list[str]:
    """The programs, their libraries (by every name they are asked for) and the trees."""
    files = set()
    for program in PROGRAMS:
        binary = shutil.which(program, path="/usr/bin:/bin:/usr/sbin:/sbin")
        if binary is None:
            continue
        libraries = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
        files.update([binary, *(word for word in libraries.split() if word.startswith("/"))])
    for tree in TREES:
        files.update(str(path) for path in Path(tree).rglob("*") if not path.is_dir())
    files.update(path for path in FILES if os.path.isfile(path))
    # A symlink (sh -> dash) needs its target too.
    return sorted(files | {os.path.realpath(path) for path in files})


def image_tar(files: list[str]) -> bytes:
    """A root filesystem of the files, merged-/usr like Debian 12, as a tar archive."""
    buffer = io.BytesIO()
    names = set()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for link in ("bin", "sbin", "lib", "lib64"):
            if os.path.islink(f"/{link}"):
                tar.add(f"/{link}", arcname=link)
        for directory, mode in (("tmp", 0o1777), ("etc", 0o755)):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        for path in files:
            # /lib/x86_64-linux-gnu/libc.so.6 is /usr/lib/... in a merged-/usr tree.
            resolved = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
            if resolved in names:
                continue
            names.add(resolved)
            tar.add(path, arcname=resolved.lstrip("/"), recursive=False)
    return buffer.getvalue()


def build_test_image() -> str:
    """The tests' image, imported into podman's storage unless an identical one is there."""
    files = host_files()
    digest = hashlib.sha256()
    for path in files:
        stat = os.stat(path)
        digest.update(f"{path} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    reference = f"{IMAGE_NAME}:{digest.hexdigest()[:12]}"
    if subprocess.run(["podman", "image", "exists", reference]).returncode != 0:
        subprocess.run(
            ["podman", "import", "--quiet", "-", reference],
            input=image_tar(files),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return reference
