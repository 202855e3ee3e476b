"""`roundhouse image build` and `roundhouse image list`: the root filesystem images of the
bwrap and docker backends on this worker machine (docs/sandbox.md, "Building images").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from roundhouse.cli.common import ConfigOpt, JsonOpt, app, echo_json, fail

if TYPE_CHECKING:  # imported when a command runs: other commands start faster
    from roundhouse.settings import Settings

image_app = typer.Typer(help="Images of the sandboxed backends: build, list.", no_args_is_help=True)
app.add_typer(image_app, name="image")

CACHE_SUBDIR = "image-cache"


def load_settings(config: Path | None) -> Settings:
    from roundhouse import settings as settings_module
    from roundhouse.settings import SettingsError

    try:
        return settings_module.load(config, worker=True)
    except SettingsError as error:
        fail(str(error))


def human_size(size: int) -> str:
    return f"{size / 1024 / 1024:.0f} MB"


@image_app.command("build")
def build(
    name: Annotated[str, typer.Argument(help="The image's name; a job's dist may name it.")],
    dist: Annotated[str, typer.Option(help="Debian suite to debootstrap.")] = "bookworm",
    mirror: Annotated[
        str | None, typer.Option(help="Debian mirror (default: the one apt uses here).")
    ] = None,
    package: Annotated[
        list[str] | None, typer.Option("--package", help="Another package to install (repeat).")
    ] = None,
    docker: Annotated[
        bool, typer.Option("--docker", help="Also import it into the Docker API at docker_url.")
    ] = False,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Debootstrap again, not from the cached tarball.")
    ] = False,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where tarballs of built trees are kept (default: data_dir/image-cache)."
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Make a root filesystem with debootstrap (bash, git, ca-certificates, user travis)."""
    from roundhouse.worker import imagebuild
    from roundhouse.worker.backends.imagestore import ImageNameError

    settings = load_settings(config)

    def say(line: str) -> None:
        typer.echo(line, err=True)

    try:
        recipe = imagebuild.recipe(
            dist, mirror, package or [], settings.sandbox_uid, settings.sandbox_gid
        )
        image, tarball = imagebuild.build(
            name,
            recipe,
            settings.data_dir.resolve(),
            (cache_dir or settings.data_dir / CACHE_SUBDIR).resolve(),
            refresh=refresh,
            say=say,
        )
    except (imagebuild.ImageBuildError, ImageNameError) as error:
        fail(str(error))
    typer.echo(f"Built {image.name} ({image.dist}, {human_size(image.size)}) at {image.rootfs}")
    if docker:
        from docker.errors import APIError

        from roundhouse.settings import SettingsError
        from roundhouse.worker.backends.dockerimages import import_built

        try:
            reference = import_built(settings, image, tarball)
        except SettingsError as error:
            fail(str(error))
        except APIError as error:
            fail(f"{settings.docker_url} refused the image {tarball}: {error.explanation}")
        typer.echo(f"Imported it into {settings.docker_url} as {reference}")


@dataclass
class Row:
    backend: str
    name: str
    dist: str
    size: int
    created: str
    where: str


@image_app.command("list")
def list_images(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """The images each backend has here: name, dist, size, created."""
    from roundhouse.worker.backends import imagestore

    settings = load_settings(config)
    rows = [
        Row("bwrap", image.name, image.dist, image.size, image.created, str(image.rootfs))
        for image in imagestore.all_built(settings.data_dir.resolve())
    ]
    built = {row.name for row in rows}
    if settings.backend != "docker":  # then `images` values are directories or built names
        for dist, value in sorted(settings.images.items()):
            if value not in built:
                rows.append(Row("bwrap", dist, dist, 0, "", value))
    problem = ""
    socket = Path(settings.docker_url.removeprefix("unix://"))
    if settings.backend == "docker" or socket.is_socket():
        problem = docker_rows(settings, rows)
    if as_json:
        return echo_json([asdict(row) for row in rows])
    for row in rows:
        size = human_size(row.size) if row.size else "-"
        typer.echo(
            f"{row.backend:6} {row.name:40} {row.dist or '-':10} {size:>8} "
            f"{row.created or '-':25} {row.where}"
        )
    if problem:
        typer.echo(f"docker: {problem}", err=True)


def docker_rows(settings: Settings, rows: list[Row]) -> str:
    """Add the docker backend's images to rows; say why not if its server cannot be asked."""
    from roundhouse.settings import SettingsError
    from roundhouse.worker.backends.dockerimages import server_images

    try:
        found = server_images(settings)
    except SettingsError as error:
        return str(error)
    for image in found:
        rows.append(
            Row(
                "docker",
                image.reference,
                image.dist,
                image.size,
                image.created,
                settings.docker_url,
            )
        )
    return ""
