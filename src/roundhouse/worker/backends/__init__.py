"""Backends run a compiled job script somewhere: `local` (a process group on this machine);
`bwrap` and `docker` come with the isolation issue. All share backends.base.Backend.
"""

from roundhouse.worker.backends.base import Backend, RunningJob
from roundhouse.worker.backends.local import LocalBackend


def make_backend(name: str) -> Backend:
    if name == "local":
        return LocalBackend()
    raise ValueError(f"backend {name!r} is not available in this version; use 'local'")


__all__ = ["Backend", "LocalBackend", "RunningJob", "make_backend"]
