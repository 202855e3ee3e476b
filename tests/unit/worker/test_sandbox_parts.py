"""The pure parts of the sandbox backends: cgroup bookkeeping, image resolution and mounts,
the repository mirror's git settings, and the bwrap command line. No root, no bubblewrap.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from roundhouse.script.local import local_payload
from roundhouse.worker.backends.base import JobStartError
from roundhouse.worker.backends.bwrap import JobPlace, bwrap_args, place_name
from roundhouse.worker.backends.cgroups import JobCgroup, own_cgroups
from roundhouse.worker.backends.images import Image, image_mounts, resolve, unreachable_dir
from roundhouse.worker.backends.mirror import git_config, wants_mirror

HOST = Image("host", Path("/"))


def options(args: list[str], flag: str) -> list[tuple[str, str]]:
    """(source, target) of every `flag SOURCE TARGET` in bwrap arguments."""
    return [(args[i + 1], args[i + 2]) for i, arg in enumerate(args) if arg == flag]


def test_own_cgroups_reads_v1_lines_and_joined_controllers() -> None:
    text = "9:name=systemd:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/x\n0::/\n"

    paths = own_cgroups(text)

    assert paths["memory"] == "/process_api/abc"
    assert paths["cpu"] == paths["cpuacct"] == "/x"
    assert paths["name=systemd"] == "/"


def test_cgroup_manifest_round_trip() -> None:
    parents = {"memory": Path("/sys/fs/cgroup/memory/a"), "pids": Path("/sys/fs/cgroup/pids")}
    cgroup = JobCgroup.named("roundhouse-job-1-1-abc", parents)

    again = JobCgroup.from_manifest(cgroup.manifest())

    assert again.dirs == {
        "memory": Path("/sys/fs/cgroup/memory/a/roundhouse-job-1-1-abc"),
        "pids": Path("/sys/fs/cgroup/pids/roundhouse-job-1-1-abc"),
    }
    assert JobCgroup.from_manifest("").dirs == {}


def test_missing_image_names_the_images_there_are(tmp_path: Path) -> None:
    with pytest.raises(JobStartError, match=r"no image 'focal' \(images here: host, jammy\)"):
        resolve("focal", {"jammy": "/srv/jammy", "host": "host"}, tmp_path)


def test_image_that_is_not_a_root_filesystem(tmp_path: Path) -> None:
    with pytest.raises(JobStartError, match="not a root filesystem"):
        resolve("empty", {"empty": str(tmp_path)}, tmp_path)


def test_host_image_is_the_root(tmp_path: Path) -> None:
    assert resolve("focal", {"focal": "host"}, tmp_path) == Image("focal", Path("/"))


def test_host_image_shows_system_directories_only() -> None:
    args = image_mounts(HOST)

    targets = [target for _, target in options(args, "--ro-bind")]
    targets += [target for _, target in options(args, "--symlink")]
    assert "/usr" in targets and "/etc" in targets
    assert not {"/root", "/home", "/var", "/tmp", "/srv", "/opt"} & set(targets)
    if Path("/etc/default").is_dir():
        assert "/etc/default" in [args[i + 1] for i, a in enumerate(args) if a == "--tmpfs"]


def test_root_filesystem_image_is_shown_entry_by_entry(tmp_path: Path) -> None:
    for name in ("usr", "etc", "var", "proc", "home", "tmp"):
        (tmp_path / name).mkdir()
    (tmp_path / "bin").symlink_to("usr/bin")

    args = image_mounts(Image("tiny", tmp_path))

    assert options(args, "--ro-bind") == [
        (str(tmp_path / "etc"), "/etc"),
        (str(tmp_path / "usr"), "/usr"),
        (str(tmp_path / "var"), "/var"),
    ]
    assert options(args, "--symlink") == [("usr/bin", "/bin")]


def test_unreachable_dir_finds_the_closed_parent(tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    (closed / "inner").mkdir(parents=True)
    closed.chmod(0o700)

    assert unreachable_dir(closed / "inner") in {closed, *closed.parents}
    assert unreachable_dir(Path("/usr/bin")) is None


def test_git_config_points_the_clone_url_at_the_mirror(tmp_path: Path) -> None:
    url = 'https://git.example.com/team/we"ird\\repo'
    config = tmp_path / "gitconfig"
    config.write_text(git_config(url))

    def read(key: str) -> str:
        return subprocess.run(
            ["git", "config", "--file", str(config), key],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    assert read("url.file:///run/roundhouse/origin.git.insteadOf") == url
    assert read("safe.directory") == "/run/roundhouse/origin.git"


def test_git_config_refuses_a_url_with_a_line_break() -> None:
    with pytest.raises(JobStartError, match="line break"):
        git_config("https://example.com/a\n[core]")


def test_only_jobs_that_clone_get_a_mirror() -> None:
    assert wants_mirror(local_payload({}, clone_url="https://example.com/a.git"))
    assert not wants_mirror(local_payload({}, clone_url=""))
    no_clone = local_payload({"git": {"clone": False}}, clone_url="https://example.com/a.git")
    assert not wants_mirror(no_clone)


def test_place_name_tells_attempts_and_leases_apart() -> None:
    payload = local_payload({}, clone_url="", job_index=12)
    payload["lease"] = "0123456789abcdef"
    assert place_name(payload) == "roundhouse-job-12-1-01234567"
    payload["lease"] = ""
    assert place_name(payload) == "roundhouse-job-12-1"


def test_bwrap_args_network_and_mirror(tmp_path: Path) -> None:
    place = JobPlace(tmp_path / "roundhouse-job-1-1", JobCgroup({}))

    closed = bwrap_args(HOST, place, network=False, hostname="job-1", mirrored=False)
    opened = bwrap_args(HOST, place, network=True, hostname="job-1", mirrored=True)

    assert "--unshare-all" in closed and "--share-net" not in closed
    assert "--share-net" in opened
    assert (str(place.dir / "origin.git"), "/run/roundhouse/origin.git") in options(
        opened, "--ro-bind"
    )
    assert options(closed, "--bind") == [(str(place.home), "/home/travis")]
    for name in ("passwd", "group", "hosts"):
        assert (str(place.dir / name), f"/etc/{name}") in options(closed, "--ro-bind")
