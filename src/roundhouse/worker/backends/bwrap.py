"""The bwrap backend: every job runs in a bubblewrap sandbox, as an unprivileged user.

What a job gets:
- its image read-only (images.py), and writable places that vanish with it: a home
  directory holding the checkout (/home/travis, $TRAVIS_BUILD_DIR below it), /tmp,
  /var/tmp and /run;
- new pid, ipc, uts, mount, user and (unless it may use the network) network namespaces, so
  it sees none of the host's processes and cannot signal the worker;
- its build cache directories (worker/cache.py), if any, under /run/roundhouse/cache;
- the extra CA certificates of the `ca_bundle_file` setting in its trust store (cabundle.py);
- a cgroup (cgroups.py) with the memory, CPU and process limits of the settings, which also
  kills the whole tree on cancel and timeout, daemons included.

How it starts: as root, a tiny shell puts itself into the job's cgroup and execs setpriv,
which drops to the sandbox uid and execs bwrap. bwrap has to run as that user: run as root,
it would map the job to host root, or leave the job's own files unmapped.

Everything of a job on the host is named roundhouse-job-<id>-<attempt>-<lease>: its
directory in work_dir, and its cgroups, which the directory lists in a file. A worker that
starts finds the directories a killed one left, and removes them with their cgroups and
processes (cleanup_leftovers).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from roundhouse.protocol import JobPayload
from roundhouse.settings import Settings, SettingsError
from roundhouse.worker.backends import cabundle, cgroups, images, mirror
from roundhouse.worker.backends.base import Backend, CacheDirs, JobStartError, RunningJob
from roundhouse.worker.backends.cgroups import CgroupsUnavailable, JobCgroup, Limits

log = logging.getLogger(__name__)

PREFIX = "roundhouse-job-"
MANIFEST = "cgroups"
# Run as root by the worker: join the cgroups named before "--", then exec the rest.
JOIN_CGROUPS = (
    'pid=$$; while [ "$1" != -- ]; do echo "$pid" > "$1" || exit 125; shift; done; shift; exec "$@"'
)
SANDBOX_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": images.HOME,
    "USER": images.USER,
    "LOGNAME": images.USER,
    "SHELL": "/bin/bash",
    "LANG": "C.UTF-8",
}
SANDBOX_CACHE = "/run/roundhouse/cache"


def place_name(payload: JobPayload) -> str:
    job = payload["job"]
    # The lease tells a redelivered attempt from the one a killed worker left behind.
    lease = payload["lease"][:8]
    return f"{PREFIX}{job['id']}-{job['attempt']}" + (f"-{lease}" if lease else "")


@dataclass
class JobPlace:
    """A job's directory on the host and its cgroup."""

    dir: Path
    cgroup: JobCgroup

    @property
    def home(self) -> Path:
        return self.dir / "home"

    def create(self, limits: Limits) -> None:
        """Fill the new, empty directory and make the cgroups."""
        self.dir.chmod(0o711)  # the sandbox user passes through, but cannot list it
        # Written before the cgroups exist, so that no cgroup can be left unlisted.
        (self.dir / MANIFEST).write_text(self.cgroup.manifest())
        self.cgroup.create(limits)

    @classmethod
    def left_behind(cls, path: Path) -> JobPlace:
        manifest = path / MANIFEST
        text = manifest.read_text() if manifest.is_file() else ""
        return cls(path, JobCgroup.from_manifest(text))

    async def teardown(self) -> None:
        await self.cgroup.kill()
        self.cgroup.remove()
        await asyncio.to_thread(shutil.rmtree, self.dir, True)


def bwrap_args(
    image: images.Image, place: JobPlace, *, network: bool, hostname: str, mirrored: bool
) -> list[str]:
    """bwrap's options for one job, up to the command."""
    args = ["--unshare-all", *(["--share-net"] if network else [])]
    args += ["--die-with-parent", "--new-session", "--hostname", hostname]
    args += images.image_mounts(image)
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run"]
    # A root filesystem image shows /var read-only: its var/tmp must exist to be covered.
    if image.is_host or (image.root / "var" / "tmp").is_dir():
        args += ["--tmpfs", "/var/tmp"]
    args += ["--tmpfs", "/home", "--bind", str(place.home), images.HOME]
    for target in images.ETC_FILES:
        if images.has_file(image, target):
            args += ["--ro-bind", str(place.dir / Path(target).name), target]
    if mirrored:
        args += ["--ro-bind", str(place.dir / "origin.git"), mirror.SANDBOX_PATH]
    args += ["--chdir", images.HOME, "--clearenv"]
    for name, value in SANDBOX_ENV.items():
        args += ["--setenv", name, value]
    return args


def cache_args(cache: CacheDirs | None) -> list[str]:
    """bwrap's options that show the job its build cache: fetched read-only, store writable."""
    if cache is None:
        return []
    fetched, store = f"{SANDBOX_CACHE}/fetched", f"{SANDBOX_CACHE}/store"
    return [
        *("--ro-bind", str(cache.fetched), fetched, "--bind", str(cache.store), store),
        *("--setenv", "ROUNDHOUSE_CACHE_FETCHED", fetched),
        *("--setenv", "ROUNDHOUSE_CACHE_STORE", store),
    ]


def ca_args(image: images.Image, ca_dir: Path) -> list[str]:
    """bwrap's options that make the job trust the extra CAs (cabundle.py)."""
    args = ["--ro-bind", str(ca_dir), cabundle.SANDBOX_DIR]
    # Only over a bundle the image has: a read-only /etc cannot take a new mount point.
    if images.has_file(image, cabundle.SYSTEM_BUNDLE):
        args += ["--ro-bind", str(ca_dir / cabundle.BUNDLE), cabundle.SYSTEM_BUNDLE]
    for name, value in cabundle.environment(cabundle.SANDBOX_DIR).items():
        args += ["--setenv", name, value]
    return args


def chown_tree(root: Path, uid: int, gid: int) -> None:
    """Give a directory and everything below it to the sandbox user (no symlink followed)."""
    os.lchown(root, uid, gid)
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(folder, name), uid, gid)


class BwrapJob(RunningJob):
    def __init__(
        self, process: asyncio.subprocess.Process, place: JobPlace, memory_mb: int
    ) -> None:
        assert process.stdout is not None
        self.process = process
        self.output = process.stdout
        self.place = place
        self.memory_mb = memory_mb

    async def wait(self) -> int:
        return await self.process.wait()

    async def kill(self) -> None:
        await self.place.cgroup.kill()
        await self.process.wait()

    def termination_reason(self) -> str | None:
        if self.place.cgroup.memory_exceeded():
            return f"memory limit exceeded ({self.memory_mb} MB)"
        return None

    async def cleanup(self) -> None:
        # Also ends what the job left running, though its pid namespace is gone already.
        await self.place.teardown()


class BwrapBackend(Backend):
    name = "bwrap"

    def __init__(self, settings: Settings) -> None:
        bwrap, setpriv = shutil.which("bwrap"), shutil.which("setpriv")
        if bwrap is None or setpriv is None:
            raise SettingsError(
                "Setting backend = 'bwrap' needs bubblewrap and setpriv, which are not "
                "installed: run `apt-get install bubblewrap util-linux` or choose another backend."
            )
        try:
            self.cgroup_parents = cgroups.parent_dirs()
        except CgroupsUnavailable as error:
            raise SettingsError(
                f"Setting backend = 'bwrap' needs cgroups for the job limits, but {error}."
            ) from None
        self.bwrap, self.setpriv = bwrap, setpriv
        self.settings = settings
        self.ca_extra = cabundle.from_settings(settings.ca_bundle_file)
        self.limits = Limits(
            memory_bytes=settings.sandbox_memory_mb * 1024 * 1024,
            cpus=settings.sandbox_cpus,
            pids=settings.sandbox_pids,
        )

    async def start(
        self, payload: JobPayload, work_dir: Path, cache: CacheDirs | None = None
    ) -> RunningJob:
        settings = self.settings
        name = images.image_name(payload["config"], settings.default_dist)
        image = images.resolve(name, settings.images, settings.data_dir)
        work_dir.mkdir(parents=True, exist_ok=True)
        for needed in (work_dir, image.root):
            blocked = images.unreachable_dir(needed)
            if blocked is not None:
                raise JobStartError(
                    f"The sandbox user (uid {settings.sandbox_uid}) cannot enter {blocked} on "
                    f"the way to {needed}; make it searchable (chmod o+x) or move {needed}."
                )
        path = work_dir / place_name(payload)
        try:
            path.mkdir()
        except FileExistsError:
            # Never tear down what is there: it is this very job, running.
            raise JobStartError(f"{path.name} is running on this worker already.") from None
        place = JobPlace(path, JobCgroup.named(path.name, self.cgroup_parents))
        try:
            place.create(self.limits)
            hostname = f"job-{payload['job']['id']}"
            mirrored = await self._fill(place, payload, hostname)
            network = payload.get("network", settings.sandbox_network)
            args = bwrap_args(image, place, network=network, hostname=hostname, mirrored=mirrored)
            if cache is not None:
                # Unpacked by the worker (root): the sandbox user must read and write them.
                for folder in (cache.fetched, cache.store):
                    await asyncio.to_thread(
                        chown_tree, folder, settings.sandbox_uid, settings.sandbox_gid
                    )
                args += cache_args(cache)
            if self.ca_extra is not None:
                system = cabundle.system_bundle(image.root)
                cabundle.write_files(place.dir / "ca", system, self.ca_extra)
                args += ca_args(image, place.dir / "ca")
            process = await self._spawn(place, [*args, "--", "bash", f"{images.HOME}/build.sh"])
        except BaseException:
            await place.teardown()
            raise
        return BwrapJob(process, place, settings.sandbox_memory_mb)

    async def _fill(self, place: JobPlace, payload: JobPayload, hostname: str) -> bool:
        """Put the script, /etc files and the repository mirror in; say if it mirrored."""
        uid, gid = self.settings.sandbox_uid, self.settings.sandbox_gid
        place.home.mkdir()
        files = {place.home / "build.sh": payload["script"]}
        for target, content in images.etc_files(uid, gid, hostname).items():
            (place.dir / Path(target).name).write_text(content)
        mirrored = mirror.wants_mirror(payload)
        if mirrored:
            url = payload["repository"]["clone_url"]
            files[place.home / ".gitconfig"] = mirror.git_config(url)
            timeout = payload["timeouts"]["hard_limit"]
            await mirror.make_mirror(url, place.dir / "origin.git", timeout)
        for path, content in files.items():
            path.write_text(content)
        for path in [place.home, *files]:
            os.chown(path, uid, gid)
        return mirrored

    async def _spawn(self, place: JobPlace, bwrap_command: list[str]) -> asyncio.subprocess.Process:
        uid, gid = self.settings.sandbox_uid, self.settings.sandbox_gid
        drop = [self.setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        drop.append("--no-new-privs")  # no setuid program inside can regain root
        procs = [str(path) for path in place.cgroup.procs_files]
        return await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            JOIN_CGROUPS,
            "sh",
            *procs,
            "--",
            *drop,
            self.bwrap,
            *bwrap_command,
            env={"PATH": SANDBOX_ENV["PATH"]},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            limit=1024 * 1024,
        )

    async def cleanup_leftovers(self, work_dir: Path) -> list[str]:
        names = []
        for path in sorted(work_dir.glob(f"{PREFIX}*")):
            if not path.is_dir():
                continue
            try:
                await JobPlace.left_behind(path).teardown()
            except OSError as error:
                log.warning("could not remove the left-behind job %s: %s", path.name, error)
                continue
            names.append(path.name)
        return names
