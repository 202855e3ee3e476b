"""Backends run a compiled job script somewhere: `local` (a process group on this machine),
`bwrap` (a bubblewrap sandbox with cgroup limits), `docker` (a container of a Docker Engine
API server: Docker or podman).
All share backends.base.Backend.
"""

from roundhouse.settings import Settings
from roundhouse.worker.backends import cabundle
from roundhouse.worker.backends.base import Backend, JobStartError, RunningJob
from roundhouse.worker.backends.bwrap import BwrapBackend
from roundhouse.worker.backends.local import LocalBackend


def make_backend(settings: Settings) -> Backend:
    """The backend of the `backend` setting; SettingsError if this machine cannot run it."""
    if settings.backend == "local":
        return LocalBackend(cabundle.from_settings(settings.ca_bundle_file))
    if settings.backend == "bwrap":
        return BwrapBackend(settings)
    # Imported here: the docker SDK (and requests) load only on workers that use it.
    from roundhouse.worker.backends.docker import DockerBackend

    return DockerBackend(settings)


__all__ = ["Backend", "BwrapBackend", "JobStartError", "LocalBackend", "RunningJob", "make_backend"]
