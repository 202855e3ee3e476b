"""The work directory: made when missing, marked as a top directory where the filesystem
has the flag (read back with `lsattr`), left alone where it has not, and left to the jobs
(which report it) where it cannot be made."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from roundhouse.worker import workdir


def attributes(path: Path) -> str:
    done = subprocess.run(["lsattr", "-d", str(path)], capture_output=True, text=True, check=True)
    return done.stdout.split()[0]


def test_a_missing_work_directory_is_made_and_marked(tmp_path: Path) -> None:
    if shutil.which("lsattr") is None:
        pytest.skip("lsattr (e2fsprogs) is not installed")
    work = tmp_path / "data" / "work"

    workdir.prepare(work)

    assert work.is_dir()
    if not workdir.mark_top_directory(tmp_path):
        pytest.skip("this filesystem has no TOPDIR flag")
    assert "T" in attributes(work)
    workdir.prepare(work)  # again: an existing directory keeps the flag
    assert "T" in attributes(work)


def test_a_filesystem_without_flags_or_a_missing_path_is_refused_quietly(tmp_path: Path) -> None:
    assert workdir.mark_top_directory(Path("/proc/self")) is False
    assert workdir.mark_top_directory(tmp_path / "missing") is False


def test_a_work_directory_that_cannot_be_made_is_left_to_the_jobs(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")

    workdir.prepare(blocker / "work")

    assert not (blocker / "work").exists()
