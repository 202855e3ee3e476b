"""Root filesystem images for the sandboxed backends, made with debootstrap.

`roundhouse image build NAME --dist DIST` debootstraps DIST (minbase with bash, git,
ca-certificates and any extra packages), adds the unprivileged build user `travis`, and
stores the tree where the backends find it (backends/imagestore.py). The finished tree is also
kept as a tarball in a cache directory, named after everything that went into it: building
the same recipe again (under another name, or after removing the image) unpacks it instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from roundhouse.worker.backends import imagestore
from roundhouse.worker.backends.images import HOME, USER
from roundhouse.worker.backends.imagestore import BuiltImage

BASE_PACKAGES = ("bash", "git", "ca-certificates")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
# Changed when the build steps change, so that tarballs of the old steps are not reused.
RECIPE_FORMAT = 1
DIST_PATTERN = re.compile(r"[a-z][a-z0-9-]{1,30}")
PACKAGE_PATTERN = re.compile(r"[a-z0-9][a-z0-9+.-]+")
TOOLS = ("debootstrap", "chroot", "tar")


class ImageBuildError(Exception):
    """The image cannot be built; the message says why and what to do."""


@dataclass(frozen=True)
class Recipe:
    """Everything that decides an image's contents."""

    dist: str
    mirror: str
    packages: tuple[str, ...]
    uid: int
    gid: int

    def check(self) -> None:
        if not DIST_PATTERN.fullmatch(self.dist):
            raise ImageBuildError(f"--dist {self.dist!r} is not a Debian suite name (bookworm).")
        if not self.mirror.startswith(("http://", "https://", "file://")):
            raise ImageBuildError(f"--mirror {self.mirror!r} is not an http(s):// or file:// URL.")
        for package in self.packages:
            if not PACKAGE_PATTERN.fullmatch(package):
                raise ImageBuildError(f"--package {package!r} is not a Debian package name.")

    @property
    def tarball_name(self) -> str:
        fields = json.dumps({**asdict(self), "format": RECIPE_FORMAT}, sort_keys=True)
        return f"{self.dist}-{hashlib.sha256(fields.encode()).hexdigest()[:16]}.tar"


def recipe(dist: str, mirror: str | None, extra: list[str], uid: int, gid: int) -> Recipe:
    packages = tuple(sorted({*BASE_PACKAGES, *extra}))
    made = Recipe(dist, (mirror or host_mirror()).rstrip("/"), packages, uid, gid)
    made.check()
    return made


def host_mirror(sources: tuple[Path, ...] = APT_SOURCES) -> str:
    """The Debian archive this machine's apt uses (not its security archive), if it has one."""
    files: list[Path] = []
    for source in sources:
        files += sorted(source.glob("*.list")) + sorted(source.glob("*.sources"))
        files += [source] if source.is_file() else []
    for file in files:
        for uri, suites in apt_entries(file.read_text(errors="replace")):
            if not any(suite.endswith("-security") for suite in suites):
                return uri
    return DEFAULT_MIRROR


def apt_entries(text: str) -> list[tuple[str, list[str]]]:
    """(URI, suites) of each `deb` source, in one-line or deb822 format."""
    entries = []
    for paragraph in re.split(r"\n\s*\n", text):
        fields = dict(
            line.split(":", 1) for line in paragraph.splitlines() if re.match(r"[A-Za-z-]+:", line)
        )
        fields = {key.strip(): value.strip() for key, value in fields.items()}
        if "deb" in fields.get("Types", "").split() and fields.get("URIs"):
            entries.append((fields["URIs"].split()[0], fields.get("Suites", "").split()))
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", "", line).split()
        if len(words) >= 3 and words[0] == "deb":
            entries.append((words[1], [words[2]]))
    return entries


def build(
    name: str,
    made: Recipe,
    data_dir: Path,
    cache_dir: Path,
    *,
    refresh: bool = False,
    say: Callable[[str], None] = print,
) -> tuple[BuiltImage, Path]:
    """Build (or unpack from the cache) and store the image; it and its tarball."""
    imagestore.check_name(name)
    if os.geteuid() != 0:
        raise ImageBuildError("Building an image needs root (debootstrap, chroot, file owners).")
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise ImageBuildError(
            f"Building an image needs {', '.join(missing)}: run `apt-get install debootstrap`."
        )
    store = imagestore.store_dir(data_dir)
    store.mkdir(parents=True, exist_ok=True)
    store.chmod(0o755)  # the sandbox user walks through to the image
    cache_dir.mkdir(parents=True, exist_ok=True)
    tarball = cache_dir / made.tarball_name
    staging = Path(tempfile.mkdtemp(prefix=f".new-{name}-", dir=store))
    staging.chmod(0o755)
    rootfs = staging / imagestore.ROOTFS_DIR
    try:
        if tarball.is_file() and not refresh:
            say(f"Unpacking the cached tree {tarball}")
            rootfs.mkdir()
            run(["tar", "--numeric-owner", "-xpf", str(tarball), "-C", str(rootfs)], "unpacking")
        else:
            debootstrap(made, rootfs, say)
            add_user(rootfs, made)
            tidy(rootfs)
            say(f"Caching the tree as {tarball}")
            partial = tarball.with_suffix(".partial")
            run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."], "packing")
            os.replace(partial, tarball)
        image = BuiltImage(
            name=name,
            dist=made.dist,
            mirror=made.mirror,
            packages=list(made.packages),
            size=tree_size(rootfs),
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            path=store / name,
        )
        BuiltImage(**{**asdict(image), "path": staging}).save()
        replace(staging, image.path)
    except BaseException:
        remove_tree(staging)
        raise
    return image, tarball


def debootstrap(made: Recipe, rootfs: Path, say: Callable[[str], None]) -> None:
    say(f"debootstrap {made.dist} from {made.mirror} with {', '.join(made.packages)}")
    command = ["debootstrap", "--variant=minbase", f"--include={','.join(made.packages)}"]
    command += [made.dist, str(rootfs), made.mirror]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    )
    assert process.stdout is not None
    last = ""
    for line in process.stdout:
        say(line.rstrip())
        last = line.strip() or last
    if process.wait() != 0:
        raise ImageBuildError(
            f"debootstrap of {made.dist} from {made.mirror} failed ({last}); check the suite, "
            "the mirror (--mirror) and the package names."
        )


def add_user(rootfs: Path, made: Recipe) -> None:
    """The build user, as on Travis: `travis`, home /home/travis, bash."""
    root = str(rootfs)
    run(["chroot", root, "groupadd", "--gid", str(made.gid), USER], "adding the group")
    user = ["useradd", "--uid", str(made.uid), "--gid", str(made.gid), "--create-home"]
    user += ["--home-dir", HOME, "--shell", "/bin/bash", USER]
    run(["chroot", root, *user], "adding the user")


def tidy(rootfs: Path) -> None:
    """Leave out what only the build needed: downloaded packages and package lists."""
    for folder in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for path in (rootfs / folder).glob("*"):
            if path.is_file():
                path.unlink()
    # The sandbox puts a tmpfs on /var/tmp, so it must exist.
    (rootfs / "var" / "tmp").mkdir(mode=0o1777, exist_ok=True)


def run(command: list[str], doing: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, errors="replace")
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ImageBuildError(f"The image build failed while {doing}: {reason}")


def tree_size(root: Path) -> int:
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            total += os.lstat(os.path.join(folder, name)).st_size
    return total


def replace(staging: Path, final: Path) -> None:
    """Put the new image in place of the old one, which goes."""
    if not final.exists():
        os.rename(staging, final)
        return
    old = Path(tempfile.mkdtemp(prefix=f".old-{final.name}-", dir=final.parent))
    os.rename(final, old / "image")
    os.rename(staging, final)
    remove_tree(old)


def remove_tree(path: Path) -> None:
    """rmtree that first unmounts what a failed debootstrap left mounted inside (proc, sys)."""
    prefix = f"{path.resolve()}/"
    with open("/proc/self/mounts") as mounts:
        targets = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
    for target in sorted(targets, reverse=True):
        subprocess.run(["umount", "--lazy", target], capture_output=True)
    shutil.rmtree(path, ignore_errors=True)
