"""Connecting to a Docker Engine API (Docker, or podman's compatible service), and saying
in one sentence why it cannot be used or why it refused a container.
"""

from __future__ import annotations

import socket

import docker.errors
from docker import APIClient
from docker.utils import version_lt

from roundhouse.settings import Settings, SettingsError

# 1.41 (Docker 20.10, podman 3): the oldest API whose create call takes every option used here.
MIN_API_VERSION = "1.41"
API_TIMEOUT = 30  # seconds for one call


def connect(settings: Settings) -> APIClient:
    """A client of the server at docker_url, or SettingsError saying how to get one."""
    url = settings.docker_url
    try:
        # version="auto" asks the server; the client then speaks the server's version.
        client = APIClient(
            base_url=url,
            version="auto",
            timeout=API_TIMEOUT,
            # Each running job holds a connection for its output and one while waiting.
            max_pool_size=2 * settings.pool_size + 4,
        )
    except docker.errors.DockerException as error:
        problem = unix_socket_problem(url) or f"{url} does not answer as one ({error})"
        raise SettingsError(
            f"Setting backend = 'docker' needs a Docker API, but {problem}: "
            "start Docker or podman (`podman system service`), or set docker_url."
        ) from None
    if version_lt(client.api_version, MIN_API_VERSION):
        client.close()
        raise SettingsError(
            f"The Docker API at {url} answered version {client.api_version}; Roundhouse needs "
            f"≥ {MIN_API_VERSION}: upgrade to Docker 20.10 or podman 3 or later."
        )
    return client


def unix_socket_problem(url: str) -> str | None:
    """What keeps the worker from a unix:// URL's socket, said for the error message."""
    if not url.startswith("unix://"):
        return None
    path = url.removeprefix("unix://")
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):  # refused: a stale socket file
            return f"nothing listens at {url}"
        except PermissionError:
            return f"the worker's user may not open {path} (run it as root or in the docker group)"
        except OSError as error:
            return f"{path} cannot be opened ({error.strerror})"
    return None


def explain_api_error(error: docker.errors.APIError, image: str) -> str:
    """One sentence for a container that could not be created or started."""
    text = str(error.explanation or error)
    if "rlimit" in text:  # crun: "setrlimit `RLIMIT_NOFILE`", runc: "error setting rlimit"
        # podman's default ulimits are higher than a root without CAP_SYS_RESOURCE may set.
        return (
            f"The container engine could not set the container's ulimits ({text}); set "
            'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"] in the engine\'s '
            "containers.conf (podman) or its default-ulimits (Docker)."
        )
    return f"The container of image {image!r} could not be started: {text}"
