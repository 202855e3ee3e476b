"""Pure parts of `roundhouse image build`: the host's apt mirror, recipes and their cache
names, image names, and how a job's dist finds a built image.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from roundhouse.worker.backends.base import JobStartError
from roundhouse.worker.backends.images import Image, resolve
from roundhouse.worker.backends.imagestore import (
    BuiltImage,
    ImageNameError,
    all_built,
    check_name,
    find,
)
from roundhouse.worker.imagebuild import (
    DEFAULT_MIRROR,
    ImageBuildError,
    Recipe,
    apt_entries,
    host_mirror,
    recipe,
)

DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://security.example.org/debian-security
Suites: bookworm-security
Components: main

Types: deb deb-src
URIs: http://mirror.example.org/debian http://other.example.org/debian
Suites: bookworm bookworm-updates
Components: main
"""


def test_apt_entries_of_both_formats() -> None:
    one_line = (
        "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://a.example/debian bookworm main\n"
    )
    assert apt_entries(one_line) == [("http://a.example/debian", ["bookworm"])]
    assert apt_entries(DEB822) == [
        ("http://security.example.org/debian-security", ["bookworm-security"]),
        ("http://mirror.example.org/debian", ["bookworm", "bookworm-updates"]),
    ]


def test_host_mirror_skips_the_security_archive(tmp_path: Path) -> None:
    sources = tmp_path / "sources.list.d"
    sources.mkdir()
    (sources / "debian.sources").write_text(DEB822)
    assert host_mirror((tmp_path / "sources.list", sources)) == "http://mirror.example.org/debian"
    assert host_mirror((tmp_path / "none",)) == DEFAULT_MIRROR


def test_recipe_always_has_the_base_packages_and_checks_its_fields() -> None:
    made = recipe("bookworm", "http://m.example/debian/", ["redis-server", "git"], 2000, 2000)
    assert made.packages == ("bash", "ca-certificates", "git", "redis-server")
    assert made.mirror == "http://m.example/debian"
    with pytest.raises(ImageBuildError, match="--dist 'Bookworm!' is not a Debian suite"):
        recipe("Bookworm!", "http://m.example/debian", [], 2000, 2000)
    with pytest.raises(ImageBuildError, match="--mirror 'ftp://m' is not an http"):
        recipe("bookworm", "ftp://m", [], 2000, 2000)
    with pytest.raises(ImageBuildError, match="--package 'git;rm' is not a Debian package"):
        recipe("bookworm", "http://m.example/debian", ["git;rm"], 2000, 2000)


def test_cache_name_changes_with_anything_that_changes_the_tree() -> None:
    base = Recipe("bookworm", "http://m/debian", ("bash", "git"), 2000, 2000)
    assert base.tarball_name == Recipe(**vars(base)).tarball_name
    assert base.tarball_name.startswith("bookworm-") and base.tarball_name.endswith(".tar")
    others = [
        Recipe("trixie", "http://m/debian", ("bash", "git"), 2000, 2000),
        Recipe("bookworm", "http://n/debian", ("bash", "git"), 2000, 2000),
        Recipe("bookworm", "http://m/debian", ("bash", "curl", "git"), 2000, 2000),
        Recipe("bookworm", "http://m/debian", ("bash", "git"), 1000, 2000),
    ]
    assert len({base.tarball_name, *(other.tarball_name for other in others)}) == 5


def test_image_names_that_serve_both_backends() -> None:
    assert check_name("bookworm-1.2_x") == "bookworm-1.2_x"
    for bad in ("", "Bookworm", "-x", "a/b", "x" * 64):
        with pytest.raises(ImageNameError, match="cannot be an image name"):
            check_name(bad)


def built(data_dir: Path, name: str) -> BuiltImage:
    path = data_dir / "images" / name
    (path / "rootfs" / "usr").mkdir(parents=True)
    image = BuiltImage(
        name, "bookworm", "http://m/debian", ["bash"], 10, datetime.now(UTC).isoformat(), path
    )
    image.save()
    return image


def test_built_images_are_found_by_name(tmp_path: Path) -> None:
    image = built(tmp_path, "bookworm")
    (tmp_path / "images" / ".new-other-x").mkdir()  # a build in progress is no image
    assert find(tmp_path, "bookworm") == image
    assert find(tmp_path, "../bookworm") is None
    assert all_built(tmp_path) == [image]
    assert image.docker_reference == "localhost/roundhouse/bookworm:latest"


def test_dist_finds_a_built_image_of_its_name_or_the_one_the_setting_names(
    tmp_path: Path,
) -> None:
    image = built(tmp_path, "bookworm")
    assert resolve("bookworm", {}, tmp_path) == Image("bookworm", image.rootfs)
    assert resolve("focal", {"focal": "bookworm"}, tmp_path) == Image("focal", image.rootfs)
    with pytest.raises(JobStartError, match=r"no image 'jammy' \(images here: bookworm, host\)"):
        resolve("jammy", {"host": "host"}, tmp_path)
    with pytest.raises(JobStartError, match=r"no image 'trixie' .*`roundhouse image build`"):
        resolve("focal", {"focal": "trixie"}, tmp_path)
