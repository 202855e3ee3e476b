"""Images of the sandboxed backends: which root filesystem a job gets, and how it is shown.

An image is a root filesystem directory named in the `images` setting, which maps a job's
dist to it: `{focal = "/var/lib/roundhouse/images/focal"}`, or to the name of an image made by
`roundhouse image build` (imagestore.py); a dist without an entry finds a built image of its
own name. The value "host" is the built-in image: the host's system directories, read-only.

Every image is shown read-only, one top-level entry at a time, on the sandbox's own tmpfs
root: mount points for the sandbox's writable places then never have to exist in the image,
and the host image can leave out everything but its system directories.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roundhouse.worker.backends import imagestore
from roundhouse.worker.backends.base import JobStartError

HOST = "host"
# What a job sees of the host with the host image; /root, /home, /var, /srv, /opt, /tmp and
# the worker's own files stay out.
HOST_ENTRIES = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc")
# Hidden inside the host's /etc: the worker's settings and secrets readable by anyone.
HOST_ETC_HIDDEN = ("roundhouse", "default", "shadow", "gshadow", "ssh", "sudoers", "ssl/private")
# Places the sandbox makes itself, whatever the image has there.
SANDBOX_OWNED = frozenset({"proc", "dev", "sys", "tmp", "run", "home", "root"})
ETC_FILES = ("/etc/passwd", "/etc/group", "/etc/hosts")
USER = "travis"
HOME = f"/home/{USER}"


@dataclass(frozen=True)
class Image:
    name: str
    root: Path  # "/" for the host image

    @property
    def is_host(self) -> bool:
        return self.name == HOST or self.root == Path("/")


def image_name(config: dict[str, Any], default_dist: str) -> str:
    return str(config.get("dist") or default_dist)


def known_names(images: dict[str, str], data_dir: Path) -> list[str]:
    """Every name a job's dist can ask for: configured ones and built ones."""
    built = [image.name for image in imagestore.all_built(data_dir)]
    return sorted({*images, *built})


def missing(name: str, images: dict[str, str], data_dir: Path) -> JobStartError:
    known = ", ".join(known_names(images, data_dir)) or "none"
    return JobStartError(
        f"This worker has no image {name!r} (images here: {known}); add it to the "
        "worker's `images` setting, build it with `roundhouse image build`, or ask for "
        "one of these with `dist:`."
    )


def resolve(name: str, images: dict[str, str], data_dir: Path) -> Image:
    """The image a job asks for, or JobStartError naming the images this worker has.

    An `images` value is "host", a root filesystem directory, or the name of a built image;
    a name with no entry may be a built image's too.
    """
    value = images.get(name, name)
    if value == HOST:
        return Image(name, Path("/"))
    if "/" in value:  # a directory
        image = Image(name, Path(value))
    else:
        built = imagestore.find(data_dir, value)
        if built is None:
            raise missing(value, images, data_dir)
        image = Image(name, built.rootfs)
    if not (image.root / "usr").is_dir():
        raise JobStartError(
            f"Image {name!r} of this worker is {image.root}, which is not a root filesystem "
            "(it has no usr/ directory); fix the worker's `images` setting."
        )
    return image


def unreachable_dir(path: Path) -> Path | None:
    """The first directory on the way to path that other users cannot enter, if any.

    The sandbox is set up by the unprivileged job user, so it must be able to walk there.
    """
    for directory in [*reversed(path.parents), path]:
        if not os.stat(directory).st_mode & 0o001:
            return directory
    return None


def image_mounts(image: Image) -> list[str]:
    """bwrap arguments that show the image read-only, without the sandbox-owned places."""
    if image.is_host:
        names = [name for name in HOST_ENTRIES if os.path.lexists(f"/{name}")]
    else:
        names = sorted(name for name in os.listdir(image.root) if name not in SANDBOX_OWNED)
    args: list[str] = []
    for name in names:
        source = image.root / name
        if source.is_symlink():  # /bin -> usr/bin on merged-/usr systems
            args += ["--symlink", os.readlink(source), f"/{name}"]
        else:
            args += ["--ro-bind", str(source), f"/{name}"]
    if image.is_host:
        for hidden in HOST_ETC_HIDDEN:
            target = Path("/etc") / hidden
            if target.is_dir():
                args += ["--tmpfs", str(target)]
            elif target.exists():
                args += ["--ro-bind", "/dev/null", str(target)]
    return args


def has_file(image: Image, path: str) -> bool:
    """Whether the image has a file at path (absolute inside the image)."""
    return (image.root / path.lstrip("/")).is_file()


def etc_files(uid: int, gid: int, hostname: str) -> dict[str, str]:
    """The sandbox's own /etc/passwd, /etc/group and /etc/hosts: the job user and its host."""
    passwd, group, hosts = ETC_FILES
    return {
        passwd: (
            "root:x:0:0:root:/root:/bin/bash\n"
            f"{USER}:x:{uid}:{gid}:Roundhouse job:{HOME}:/bin/bash\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        ),
        group: f"root:x:0:\n{USER}:x:{gid}:\nnogroup:x:65534:\n",
        # Tools that look up their own hostname must not wait for DNS.
        hosts: f"127.0.0.1\tlocalhost {hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    }
