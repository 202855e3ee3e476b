"""Images built by `roundhouse image build`: root filesystems kept under <data_dir>/images.

Each image is a directory <data_dir>/images/<name>/ with rootfs/ (what the bwrap backend shows
a job) and image.json (dist, mirror, packages, size, creation time); its copy for the docker
backend is the imported image localhost/roundhouse/<name>:latest.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

STORE_DIR = "images"
META_FILE = "image.json"
ROOTFS_DIR = "rootfs"
DOCKER_REPOSITORY = "localhost/roundhouse"
# Labels of an imported image, by which `roundhouse image list` finds it in a Docker API.
LABEL_IMAGE = "roundhouse.image"
LABEL_DIST = "roundhouse.dist"
# Also a valid Docker repository component, so one name serves both backends.
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


class ImageNameError(ValueError):
    """The name cannot be an image's; the message says what names may be."""


@dataclass(frozen=True)
class BuiltImage:
    name: str
    dist: str
    mirror: str
    packages: list[str]
    size: int  # bytes of rootfs/
    created: str  # ISO 8601, UTC
    path: Path

    @property
    def rootfs(self) -> Path:
        return self.path / ROOTFS_DIR

    @property
    def docker_reference(self) -> str:
        return docker_reference(self.name)

    def save(self) -> None:
        fields = {key: value for key, value in asdict(self).items() if key != "path"}
        (self.path / META_FILE).write_text(json.dumps(fields, indent=2) + "\n")


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise ImageNameError(
            f"{name!r} cannot be an image name: use up to 63 lower-case letters, digits, "
            "'.', '_' and '-', starting with a letter or digit."
        )
    return name


def docker_reference(name: str) -> str:
    return f"{DOCKER_REPOSITORY}/{name}:latest"


def store_dir(data_dir: Path) -> Path:
    return data_dir / STORE_DIR


def find(data_dir: Path, name: str) -> BuiltImage | None:
    """The built image of that name, if there is one (and the name could be one)."""
    if not NAME_PATTERN.fullmatch(name):
        return None
    path = store_dir(data_dir) / name
    try:
        fields = json.loads((path / META_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not (path / ROOTFS_DIR / "usr").is_dir():
        return None
    return BuiltImage(**fields, path=path)


def all_built(data_dir: Path) -> list[BuiltImage]:
    root = store_dir(data_dir)
    if not root.is_dir():
        return []
    found = (find(data_dir, path.name) for path in sorted(root.iterdir()))
    return [image for image in found if image is not None]
