"""The checkouts a local worker keeps for later jobs of the same commit, and their pruning.

Jobs make and copy them (script/bash/helpers.sh, `_rh_checkout_*`); the worker only says
where they live and keeps the newest few, so a build matrix's jobs clone once per worker.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

DIRECTORY = "checkouts"
# The jobs of one build run close together; older checkouts are seldom copied again.
KEEP = 4
# No copy takes this long: a partial one older than this was left by a job that died, and a
# dropped checkout this old has no reader left.
GRACE_SECONDS = 600
PARTIAL = ".partial-"
DROPPED = ".dropped-"


def directory(work_dir: Path) -> Path:
    """Where the worker's jobs keep checkouts (made if missing)."""
    path = work_dir / DIRECTORY
    path.mkdir(parents=True, exist_ok=True)
    return path


def prune(path: Path, keep: int = KEEP) -> None:
    """Drop all but the `keep` newest checkouts, and partial copies nobody finishes.

    A dropped checkout is renamed at once, so that a job looking for it from now on clones,
    and one copying it right now fails to open the rest and clones too; it is deleted only
    at a later pruning, when no copy can still be reading it.
    """
    now = time.time()
    kept: list[tuple[float, str]] = []
    doomed: list[str] = []
    with contextlib.suppress(FileNotFoundError), os.scandir(path) as entries:
        for entry in entries:
            if entry.name.startswith(DROPPED):
                dropped_at = entry.name[len(DROPPED) :].split("-", 1)[0]
                if not dropped_at.isdigit() or now - int(dropped_at) > GRACE_SECONDS:
                    doomed.append(entry.name)
                continue
            with contextlib.suppress(FileNotFoundError):
                modified = entry.stat(follow_symlinks=False).st_mtime
                if not entry.name.startswith(PARTIAL):
                    kept.append((modified, entry.name))
                elif now - modified > GRACE_SECONDS:
                    doomed.append(entry.name)
    kept.sort(reverse=True)
    for _, name in kept[keep:]:
        with contextlib.suppress(OSError):
            (path / name).rename(path / f"{DROPPED}{int(now)}-{name}")
    for name in doomed:
        shutil.rmtree(path / name, ignore_errors=True)
