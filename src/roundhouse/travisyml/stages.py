"""Build stages: default and inherited stage names, stage order, stage `if`, job ordering.

Names compare case-insensitively; each job keeps the spelling it was given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import keys as K


@dataclass
class Stage:
    name: str
    condition: str | None = None

    def to_json(self) -> dict[str, str]:
        data = {"name": self.name}
        if self.condition is not None:
            data["if"] = self.condition
        return data


def uses_stages(stage_defs: list[dict[str, Any]] | None, job_stages: list[Any]) -> bool:
    return bool(stage_defs) or any(job_stages)


def assign(
    stage_defs: list[dict[str, Any]] | None, job_stages: list[str | None]
) -> tuple[list[Stage], list[str | None]]:
    """Stages in order and each job's stage; ([], [None, ...]) when the build uses none.

    A job without a stage takes the previous job's; the first defaults to `test` (or the
    configured stage whose name is "test" in any case).
    """
    defs = stage_defs or []
    if not uses_stages(defs, job_stages):
        return [], [None] * len(job_stages)
    default = next(
        (str(d["name"]) for d in defs if str(d["name"]).lower() == K.DEFAULT_STAGE),
        K.DEFAULT_STAGE,
    )
    assigned: list[str | None] = []
    previous = default
    for name in job_stages:
        if name:
            previous = name
        assigned.append(previous)
    stages: list[Stage] = []
    seen: set[str] = set()
    for item in defs:
        _add(stages, seen, str(item["name"]), item.get("if"))
    for name in assigned:
        _add(stages, seen, str(name), None)
    return stages, assigned


def _add(stages: list[Stage], seen: set[str], name: str, condition: Any) -> None:
    if name.lower() in seen:
        return
    seen.add(name.lower())
    stages.append(Stage(name, None if condition is None else _cond_text(condition)))


def _cond_text(condition: Any) -> str:
    if isinstance(condition, bool):
        return "true" if condition else "false"
    return str(condition)


def filter_stages(
    stages: list[Stage],
    job_stages: list[str | None],
    check: Callable[[int, Stage], bool],
) -> tuple[list[Stage], list[bool]]:
    """Drop stages whose condition fails (`check`) and stages left without jobs.

    Returns the kept stages and, per job, whether it is kept.
    """
    kept_names = {s.name.lower() for i, s in enumerate(stages) if s.condition is None
                  or check(i + 1, s)}  # fmt: skip
    keep_job = [s is None or s.lower() in kept_names for s in job_stages]
    used = {s.lower() for s, k in zip(job_stages, keep_job, strict=True) if s and k}
    return [s for s in stages if s.name.lower() in used], keep_job


def order(
    stages: list[Stage], job_stages: list[str | None], allow_failure: list[bool]
) -> list[int]:
    """Indexes of jobs sorted by stage, required before allowed failures, then as given."""
    index = {s.name.lower(): i for i, s in enumerate(stages)}

    def sort_key(i: int) -> tuple[int, int, int]:
        stage = job_stages[i]
        position = index.get(stage.lower(), len(index)) if stage else 0
        return (position, int(allow_failure[i]), i)

    return sorted(range(len(job_stages)), key=sort_key)
