"""Conformance suites against Travis CI's own expected results (shared/conformance)."""

from __future__ import annotations

from pathlib import Path


def shared_data(name: str) -> Path:
    """Path of `shared/conformance/<name>`.

    The shared folder sits beside the repository checkout (in CI: `<dir>/shared` next to
    the clone); in a git worktree it is further up, so look in every parent.
    """
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "conformance" / name
        if candidate.is_file():
            return candidate
    return here.parents[3] / "shared" / "conformance" / name
