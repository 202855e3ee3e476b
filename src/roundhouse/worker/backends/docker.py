"""The docker backend: every job runs in a fresh container of a Docker Engine API server.

The same code talks to Docker and to `podman system service`. What a job gets:
- its image (the `images` setting maps a dist to an image reference), with a writable layer
  that goes with the container;
- the user `travis` (sandbox_uid:sandbox_gid), whose home directory is a directory of the
  worker's work_dir, shown in the container; the script and the checkout live there;
- the repository mirror read-only (mirror.py), so it can clone without network;
- the image read-only, and tmpfs scratch space (/tmp, /var/tmp, /run);
- the extra CA certificates of the `ca_bundle_file` setting in its trust store (cabundle.py);
- the memory, CPU and process limits of the settings, `no-new-privileges`, no privileges
  unless `docker_privileged`, and no network (mode "none") unless it may use the network.

The SDK is synchronous: every call runs in a thread, and the output (attached before start,
so nothing is missed) is read by a thread of its own that feeds the job's StreamReader.

Everything of a job is named like its bwrap place, roundhouse-job-<id>-<attempt>-<lease>:
its container and its directory in work_dir. The container carries labels with the job and
the work_dir, by which a new worker finds and removes what a killed one left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import docker.errors
import requests.exceptions

from roundhouse.protocol import JobPayload
from roundhouse.settings import Settings
from roundhouse.worker.backends import cabundle, images, imagestore, mirror, oomwatch
from roundhouse.worker.backends.base import Backend, CacheDirs, JobStartError, RunningJob
from roundhouse.worker.backends.bwrap import (
    PREFIX,
    SANDBOX_CACHE,
    SANDBOX_ENV,
    chown_tree,
    place_name,
)
from roundhouse.worker.backends.dockerapi import connect, explain_api_error

if TYPE_CHECKING:
    from docker._types import WaitContainerResponse  # only in the stubs

log = logging.getLogger(__name__)

WAIT_STEP = 30  # seconds of one wait for a container's exit; a longer job is waited for anew
OUTPUT_LIMIT = 4 * 1024 * 1024
KILL_SECONDS = 2  # after a SIGKILL, the container's exit must come within this
KILLED = 128 + 9  # the exit status engines report for a container ended by SIGKILL
LABEL = "roundhouse"
LABEL_WORK_DIR = f"{LABEL}.work_dir"
# Writable places besides the home directory; tmpfs, so they count against the memory limit.
SCRATCH = ("/tmp", "/var/tmp", "/run")
T = TypeVar("T")


class OutputPump(threading.Thread):
    """Feeds a container's attached output into an asyncio StreamReader, from a thread.

    feed_data has no back-pressure; the runner reads as output comes and ends a job past
    max_log_bytes, so what waits in the reader stays small.
    """

    def __init__(self, chunks: Iterator[bytes], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(name="docker-output", daemon=True)
        self.chunks = chunks
        self.loop = loop
        self.reader = asyncio.StreamReader(limit=OUTPUT_LIMIT, loop=loop)

    def run(self) -> None:
        try:
            for chunk in self.chunks:
                self._call(self.reader.feed_data, chunk)
        except (OSError, requests.exceptions.RequestException) as error:
            log.debug("the output stream of a container ended: %s", error)
        finally:
            self._call(self.reader.feed_eof)

    def _call(self, function: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody reads any more
            self.loop.call_soon_threadsafe(function, *args)


class DockerJob(RunningJob):
    def __init__(
        self,
        backend: DockerBackend,
        container: str,
        place: Path,
        pump: OutputPump,
        watch: oomwatch.OomWatch | None,
    ) -> None:
        self.backend = backend
        self.container = container
        self.place = place
        self.output = pump.reader
        self.watch = watch
        self.oom_killed = False

    async def wait(self) -> int:
        api = self.backend.api
        try:
            while True:
                try:
                    result = await self.backend.wait_for_exit(self.container, WAIT_STEP)
                    break
                except (requests.exceptions.ConnectionError, requests.exceptions.Timeout):
                    # The read timed out: the job runs on. A server that is gone fails here.
                    await asyncio.to_thread(api.inspect_container, self.container)
            state = (await asyncio.to_thread(api.inspect_container, self.container))["State"]
        except docker.errors.NotFound:
            # Removed under our feet (a new worker's cleanup_leftovers): it was killed.
            result, state = {"StatusCode": KILLED}, {}
        kills = await asyncio.to_thread(self.watch.stop) if self.watch else 0
        self.oom_killed = bool(state.get("OOMKilled")) or kills > 0
        return int(result["StatusCode"])

    async def kill(self) -> None:
        # SIGKILL to the container's pid 1 ends its pid namespace: every process goes.
        await self.backend.call_ignoring_gone(self.backend.api.kill, self.container)
        try:
            await self.backend.wait_for_exit(self.container, KILL_SECONDS)
        except (docker.errors.NotFound, requests.exceptions.RequestException) as error:
            # cleanup() removes it by force all the same.
            log.warning("container %s did not report its exit: %s", self.container[:12], error)

    def termination_reason(self) -> str | None:
        if self.oom_killed:
            return f"memory limit exceeded ({self.backend.settings.sandbox_memory_mb} MB)"
        return None

    async def cleanup(self) -> None:
        if self.watch:
            await asyncio.to_thread(self.watch.stop)
        await self.backend.remove(self.container, self.place)


class DockerBackend(Backend):
    name = "docker"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.api = connect(settings)
        # Every running job blocks a thread waiting for its exit: not the loop's default
        # executor, whose few threads the rest of the worker needs.
        self.waiters = ThreadPoolExecutor(settings.pool_size + 1, thread_name_prefix="docker-wait")
        self.ca_extra = cabundle.from_settings(settings.ca_bundle_file)
        self.image_bundles: dict[str, str] = {}  # image id → its CA bundle

    async def wait_for_exit(self, container: str, timeout: int) -> WaitContainerResponse:
        """The server's answer once the container has exited; a requests error after timeout."""
        wait = functools.partial(self.api.wait, container, timeout=timeout)
        return await asyncio.get_running_loop().run_in_executor(self.waiters, wait)

    async def call_ignoring_gone(
        self, function: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T | None:
        """Call the API in a thread; None if the container is gone or not running."""
        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as error:
            if error.status_code == 409:  # conflict: not running (any more)
                return None
            raise

    async def remove(self, container: str, place: Path) -> None:
        """Remove the container (running or not) and its directory in work_dir."""
        await self.call_ignoring_gone(self.api.remove_container, container, v=True, force=True)
        await asyncio.to_thread(shutil.rmtree, place, True)

    async def image_of(self, payload: JobPayload) -> str:
        """The image reference of the job's dist, or JobStartError naming what exists."""
        settings = self.settings
        dist = images.image_name(payload["config"], settings.default_dist)
        # A built image's name (`roundhouse image build --docker`) stands for its import.
        value = settings.images.get(dist, dist)
        built = imagestore.find(settings.data_dir, value)
        if built is not None:
            reference = built.docker_reference
        elif dist in settings.images:
            reference = value
        else:
            raise images.missing(dist, settings.images, settings.data_dir)
        try:
            await asyncio.to_thread(self.api.inspect_image, reference)
        except docker.errors.ImageNotFound:
            found = await asyncio.to_thread(self.api.images)
            tags = sorted({tag for image in found for tag in image.get("RepoTags") or []})
            fix = (
                f"import it with `roundhouse image build {built.name} --docker`"
                if built is not None
                else "pull or import it, or fix the worker's `images` setting"
            )
            raise JobStartError(
                f"The image {reference!r} of dist {dist!r} is not in the worker's Docker "
                f"(images there: {', '.join(tags) or 'none'}); {fix}."
            ) from None
        return reference

    async def start(
        self, payload: JobPayload, work_dir: Path, cache: CacheDirs | None = None
    ) -> RunningJob:
        image = await self.image_of(payload)
        work_dir.mkdir(parents=True, exist_ok=True)
        name = place_name(payload)
        place = work_dir / name
        try:
            place.mkdir()
        except FileExistsError:
            # Never tear down what is there: it is this very job, running.
            raise JobStartError(f"{name} is running on this worker already.") from None
        container: str | None = None
        try:
            binds = await self._fill(place, payload)
            environment = dict(SANDBOX_ENV)
            if cache is not None:
                environment.update(await self._show_cache(cache, binds))
            if self.ca_extra is not None:
                environment.update(await self._show_ca(image, work_dir, place / "ca", binds))
            config = self._container_config(payload, work_dir, image, binds, environment)
            created = await asyncio.to_thread(self.api.create_container, **config)
            container = str(created["Id"])
            return await self._start(container, place)
        except BaseException as error:
            await self.remove(container or name, place)
            if isinstance(error, docker.errors.APIError):
                raise JobStartError(explain_api_error(error, image)) from None
            raise

    async def _show_ca(
        self, image: str, work_dir: Path, ca_dir: Path, binds: dict[str, Mapping[str, str]]
    ) -> dict[str, str]:
        """Bind the job's CA files (cabundle.py); the variables that name them."""
        assert self.ca_extra is not None
        cabundle.write_files(ca_dir, await self._image_bundle(image, work_dir), self.ca_extra)
        binds[str(ca_dir)] = {"bind": cabundle.SANDBOX_DIR, "mode": "ro"}
        binds[str(ca_dir / cabundle.BUNDLE)] = {"bind": cabundle.SYSTEM_BUNDLE, "mode": "ro"}
        return cabundle.environment(cabundle.SANDBOX_DIR)

    async def _image_bundle(self, image: str, work_dir: Path) -> str:
        """The image's own CA bundle, read once per image id from a container never started."""
        image_id = str((await asyncio.to_thread(self.api.inspect_image, image))["Id"])
        if image_id not in self.image_bundles:
            # Labelled like a job's: a worker killed meanwhile leaves it to the next one.
            labels = {LABEL_WORK_DIR: str(work_dir.resolve())}
            created = await asyncio.to_thread(
                self.api.create_container, image, command=["true"], labels=labels
            )
            try:
                chunks, _ = await asyncio.to_thread(
                    self.api.get_archive, created["Id"], cabundle.SYSTEM_BUNDLE
                )
                bundle = await asyncio.to_thread(cabundle.bundle_from_archive, chunks)
            except docker.errors.NotFound:
                bundle = ""
            finally:
                await self.call_ignoring_gone(self.api.remove_container, created["Id"], force=True)
            self.image_bundles[image_id] = bundle
        return self.image_bundles[image_id]

    async def _start(self, container: str, place: Path) -> DockerJob:
        # Attached before the start, the stream holds the container's output from its first byte.
        chunks = await asyncio.to_thread(self.api.attach, container, stream=True)
        pump = OutputPump(chunks, asyncio.get_running_loop())
        pump.start()
        await asyncio.to_thread(self.api.start, container)
        state = (await asyncio.to_thread(self.api.inspect_container, container))["State"]
        watch = oomwatch.watch(int(state.get("Pid") or 0), container)
        return DockerJob(self, container, place, pump, watch)

    async def _fill(self, place: Path, payload: JobPayload) -> dict[str, Mapping[str, str]]:
        """Put the script, /etc files and the mirror in place; the binds that show them."""
        uid, gid = self.settings.sandbox_uid, self.settings.sandbox_gid
        place.chmod(0o711)
        home = place / "home"
        home.mkdir()
        files = {home / "build.sh": payload["script"]}
        binds: dict[str, Mapping[str, str]] = {str(home): {"bind": images.HOME, "mode": "rw"}}
        hostname = f"job-{payload['job']['id']}"
        for target, content in images.etc_files(uid, gid, hostname).items():
            if target == "/etc/hosts":
                continue  # the engine writes the container's own
            (place / Path(target).name).write_text(content)
            binds[str(place / Path(target).name)] = {"bind": target, "mode": "ro"}
        if mirror.wants_mirror(payload):
            url = payload["repository"]["clone_url"]
            files[home / ".gitconfig"] = mirror.git_config(url)
            timeout = payload["timeouts"]["hard_limit"]
            await mirror.make_mirror(url, place / "origin.git", timeout)
            binds[str(place / "origin.git")] = {"bind": mirror.SANDBOX_PATH, "mode": "ro"}
        for path, content in files.items():
            path.write_text(content)
        for path in [home, *files]:
            os.chown(path, uid, gid)
        return binds

    async def _show_cache(
        self, cache: CacheDirs, binds: dict[str, Mapping[str, str]]
    ) -> dict[str, str]:
        """Bind the build cache as in the bwrap sandbox; the variables that name it."""
        fetched, store = f"{SANDBOX_CACHE}/fetched", f"{SANDBOX_CACHE}/store"
        for folder in (cache.fetched, cache.store):
            # Unpacked by the worker (root): the job's user must read and write them.
            await asyncio.to_thread(
                chown_tree, folder, self.settings.sandbox_uid, self.settings.sandbox_gid
            )
        binds[str(cache.fetched)] = {"bind": fetched, "mode": "ro"}
        binds[str(cache.store)] = {"bind": store, "mode": "rw"}
        return {"ROUNDHOUSE_CACHE_FETCHED": fetched, "ROUNDHOUSE_CACHE_STORE": store}

    def _container_config(
        self,
        payload: JobPayload,
        work_dir: Path,
        image: str,
        binds: dict[str, Mapping[str, str]],
        environment: dict[str, str],
    ) -> dict[str, Any]:
        """The create_container arguments of the job."""
        settings, job = self.settings, payload["job"]
        memory = settings.sandbox_memory_mb * 1024 * 1024
        network = payload.get("network", settings.sandbox_network)
        host_config = self.api.create_host_config(
            binds=binds,
            mem_limit=memory,
            memswap_limit=memory,  # no swap on top: the limit is the limit
            nano_cpus=int(settings.sandbox_cpus * 1e9),
            pids_limit=settings.sandbox_pids,
            network_mode=settings.docker_network if network else "none",
            privileged=settings.docker_privileged,
            # No setuid program inside regains root, unless the operator wants privileges.
            security_opt=[] if settings.docker_privileged else ["no-new-privileges"],
            # As in the bwrap sandbox: the image is read-only, scratch space vanishes with the job.
            read_only=True,
            tmpfs=dict.fromkeys(SCRATCH, "rw,exec,nosuid,nodev,mode=1777"),
        )
        return {
            "image": image,
            "command": ["bash", f"{images.HOME}/build.sh"],
            "name": place_name(payload),
            "hostname": f"job-{job['id']}",
            "user": f"{settings.sandbox_uid}:{settings.sandbox_gid}",
            "working_dir": images.HOME,
            "environment": environment,
            "labels": {
                f"{LABEL}.job": str(job["id"]),
                f"{LABEL}.attempt": str(job["attempt"]),
                f"{LABEL}.lease": payload["lease"],
                f"{LABEL}.repo": payload["repository"]["slug"],
                LABEL_WORK_DIR: str(work_dir.resolve()),
            },
            "host_config": host_config,
        }

    async def cleanup_leftovers(self, work_dir: Path) -> list[str]:
        """Remove the containers of this work_dir, and the job directories in it."""
        label = f"{LABEL_WORK_DIR}={work_dir.resolve()}"
        found = await asyncio.to_thread(self.api.containers, all=True, filters={"label": label})
        names = set()
        for container in found:
            name = (container.get("Names") or [container["Id"]])[0].lstrip("/")
            await self.remove(container["Id"], work_dir / name)
            names.add(name)
        for path in work_dir.glob(f"{PREFIX}*"):
            await asyncio.to_thread(shutil.rmtree, path, True)
            names.add(path.name)
        return sorted(names)
