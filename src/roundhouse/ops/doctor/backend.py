"""Worker-side checks of the machine itself: the backend can run jobs (bubblewrap present and
able to make a sandbox, the Docker or podman API reachable and recent enough), the images
exist, and the work directories can be written."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from roundhouse.ops.doctor.check import Check, fail, ok
from roundhouse.settings import Settings, SettingsError
from roundhouse.worker.backends import Backend, make_backend
from roundhouse.worker.backends.base import JobStartError
from roundhouse.worker.backends.images import resolve

BACKEND_FIX = "install what is named, or choose another backend (setting backend)"


def backend(settings: Settings) -> tuple[Check, Backend | None]:
    try:
        made = make_backend(settings)
    except SettingsError as error:
        return fail(f"backend {settings.backend}", str(error), BACKEND_FIX), None
    if settings.backend == "bwrap":
        probe = subprocess.run(
            ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--unshare-all", "true"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode != 0:
            return fail(
                "backend bwrap",
                f"bubblewrap cannot make a sandbox here: {probe.stderr.strip()}",
                "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 "
                "and kernel.apparmor_restrict_unprivileged_userns=0) or run the worker as root",
            ), None
    return ok(f"backend {settings.backend}", f"the {settings.backend} backend can run jobs"), made


def images(settings: Settings, made: Backend) -> list[Check]:
    """Each image of the `images` setting exists (a root filesystem, or in Docker)."""
    if settings.backend == "local":
        return []
    checks = []
    for dist, reference in sorted(settings.images.items()):
        if settings.backend == "bwrap":
            try:
                resolve(dist, settings.images, settings.data_dir)
            except JobStartError as error:
                checks.append(fail(f"image {dist}", str(error), "fix the images setting"))
                continue
        else:
            problem = _docker_image_problem(made, reference)
            if problem:
                checks.append(
                    fail(
                        f"image {dist}",
                        f"the image {reference!r} of dist {dist!r} is not in the worker's "
                        f"Docker ({problem})",
                        f"`docker pull {reference}` (or `podman pull`), or fix the images setting",
                    )
                )
                continue
        checks.append(ok(f"image {dist}", f"image {dist} is {reference}"))
    return checks


def _docker_image_problem(made: Backend, reference: str) -> str | None:
    import docker.errors

    try:
        made.api.inspect_image(reference)  # type: ignore[attr-defined]
    except docker.errors.ImageNotFound:
        return "not found"
    except docker.errors.APIError as error:
        return str(error.explanation or error)
    return None


def writable(name: str, path: Path) -> Check:
    """Whether the worker can create path and write in it, as it does at start."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
            pass
    except OSError as error:
        return fail(
            name,
            f"the worker cannot write in {path}: {error.strerror or error}",
            f"give the worker's user a writable {path} (systemd: StateDirectory=), or set "
            f"{name} to a writable place",
        )
    return ok(name, f"{path} is writable")


def directories(settings: Settings) -> list[Check]:
    return [
        writable("work_dir", settings.work_dir.resolve()),
        writable("temporary files", Path(tempfile.gettempdir())),
    ]
