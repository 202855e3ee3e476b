"""Pruning the checkouts a local worker keeps: the newest stay, the rest are renamed at once
and deleted once no copy can be reading them; partial copies of dead jobs go too."""

from __future__ import annotations

import os
import time
from pathlib import Path

from roundhouse.worker.backends import keptcheckouts


def checkout(path: Path, name: str, age: float) -> Path:
    made = path / name
    (made / ".git").mkdir(parents=True)
    (made / "f").write_text("x")
    stamp = time.time() - age
    os.utime(made, (stamp, stamp))
    return made


def test_the_newest_stay_and_the_others_are_renamed_then_deleted_later(tmp_path: Path) -> None:
    for number in range(6):
        checkout(tmp_path, f"key{number}", age=number * 10)

    keptcheckouts.prune(tmp_path, keep=4)

    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[2:] == ["key0", "key1", "key2", "key3"]
    dropped = names[:2]
    assert all(name.startswith(keptcheckouts.DROPPED) for name in dropped)
    assert sorted(name.rsplit("-", 1)[1] for name in dropped) == ["key4", "key5"]

    keptcheckouts.prune(tmp_path, keep=4)  # too soon: a job may still be copying them
    assert len(list(tmp_path.iterdir())) == 6

    long_ago = int(time.time()) - keptcheckouts.GRACE_SECONDS - 1
    for name in dropped:
        (tmp_path / name).rename(tmp_path / f"{keptcheckouts.DROPPED}{long_ago}-{name[-4:]}")
    keptcheckouts.prune(tmp_path, keep=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key0", "key1", "key2", "key3"]


def test_partial_copies_go_once_no_job_can_be_finishing_them(tmp_path: Path) -> None:
    fresh = checkout(tmp_path, f"{keptcheckouts.PARTIAL}key-100", age=5)
    stale = checkout(tmp_path, f"{keptcheckouts.PARTIAL}key-101", age=10_000)

    keptcheckouts.prune(tmp_path, keep=0)

    assert fresh.exists()
    assert not stale.exists()


def test_a_missing_directory_is_nothing_to_prune(tmp_path: Path) -> None:
    keptcheckouts.prune(tmp_path / "never-made")
    assert keptcheckouts.directory(tmp_path).is_dir()
