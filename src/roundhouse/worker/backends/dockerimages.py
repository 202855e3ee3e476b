"""Built images in a Docker Engine API: importing a built image's tarball for the docker
backend (`roundhouse image build --docker`), and listing what the server has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from roundhouse.settings import Settings
from roundhouse.worker.backends.dockerapi import connect
from roundhouse.worker.backends.imagestore import (
    DOCKER_REPOSITORY,
    LABEL_DIST,
    LABEL_IMAGE,
    BuiltImage,
)


@dataclass(frozen=True)
class ServerImage:
    reference: str
    dist: str  # "" when the image was not built by roundhouse
    size: int
    created: str


def import_built(settings: Settings, image: BuiltImage, tarball: Path) -> str:
    """Import the image's tarball into the server at docker_url; its reference there."""
    api = connect(settings)
    try:
        api.import_image_from_file(
            str(tarball),
            repository=f"{DOCKER_REPOSITORY}/{image.name}",
            tag="latest",
            changes=[f"LABEL {LABEL_IMAGE}={image.name}", f"LABEL {LABEL_DIST}={image.dist}"],
        )
    finally:
        api.close()
    return image.docker_reference


def server_images(settings: Settings) -> list[ServerImage]:
    """Images built by roundhouse, and the ones the `images` setting names, in the server."""
    api = connect(settings)
    try:
        wanted = set(settings.images.values())
        found = []
        for entry in api.images():
            labels = entry.get("Labels") or {}
            tags = entry.get("RepoTags") or []
            named = [tag for tag in tags if tag in wanted or tag.split(":")[0] in wanted]
            if LABEL_IMAGE not in labels and not named:
                continue
            created = datetime.fromtimestamp(int(entry.get("Created") or 0), UTC)
            found.append(
                ServerImage(
                    reference=(named or tags or [entry["Id"][:19]])[0],
                    dist=labels.get(LABEL_DIST, ""),
                    size=int(entry.get("Size") or 0),
                    created=created.isoformat(timespec="seconds"),
                )
            )
        return sorted(found, key=lambda image: image.reference)
    finally:
        api.close()
