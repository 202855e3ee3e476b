"""The build result rules (section 3.4): required vs allowed failures, fast_finish, stages.

A pure function of job states; the hub calls it after every job state change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

FINISHED = frozenset({"passed", "failed", "errored", "canceled"})
ACTIVE = frozenset({"received", "started"})


@dataclass(frozen=True)
class JobState:
    """One job as the hub sees it; `stage` is None for builds without stages."""

    state: str
    allow_failure: bool = False
    stage: str | None = None


@dataclass
class BuildOutcome:
    """Where the build stands.

    `state` is the final state once `finished`, else `created`, `queued` or `started`.
    `cancel`: indexes of jobs to cancel now (later stages after a failed one).
    `startable`: indexes of not yet started jobs of the first unfinished stage.
    """

    state: str
    finished: bool
    cancel: list[int] = field(default_factory=list)
    startable: list[int] = field(default_factory=list)


def result_state(jobs: Sequence[JobState]) -> str:
    """State of finished jobs taken together: only required jobs count."""
    required = [job.state for job in jobs if not job.allow_failure]
    for state in ("canceled", "errored", "failed"):
        if state in required:
            return state
    return "passed"


def stage_finished(jobs: Sequence[JobState], fast_finish: bool) -> bool:
    if all(job.state in FINISHED for job in jobs):
        return True
    # With fast_finish the allowed failures may still be running.
    return fast_finish and all(j.state in FINISHED for j in jobs if not j.allow_failure)


def _groups(jobs: Sequence[JobState], stages: Sequence[str] | None) -> list[list[int]]:
    """Job indexes per stage, in stage order (names compare case-insensitively)."""
    order = [s.lower() for s in stages or []]
    for job in jobs:
        name = (job.stage or "").lower()
        if name not in order:
            order.append(name)
    groups: list[list[int]] = [[] for _ in order]
    for i, job in enumerate(jobs):
        groups[order.index((job.stage or "").lower())].append(i)
    return [g for g in groups if g]


def _running_state(jobs: Sequence[JobState]) -> str:
    states = {job.state for job in jobs}
    if states & (ACTIVE | FINISHED):
        return "started"
    return "queued" if "queued" in states else "created"


def build_result(
    jobs: Sequence[JobState],
    *,
    fast_finish: bool = False,
    stages: Sequence[str] | None = None,
) -> BuildOutcome:
    """Apply Travis's rules: the first stage that ends in a non-passed state decides the
    build and cancels every unfinished job of the later stages."""
    groups = _groups(jobs, stages)
    for position, group in enumerate(groups):
        members = [jobs[i] for i in group]
        if not stage_finished(members, fast_finish):
            startable = [i for i in group if jobs[i].state in ("created", "queued")]
            return BuildOutcome(_running_state(jobs), False, startable=startable)
        state = result_state(members)
        if state != "passed":
            later = [i for g in groups[position + 1 :] for i in g]
            cancel = [i for i in later if jobs[i].state not in FINISHED]
            return BuildOutcome(state, True, cancel=cancel)
    return BuildOutcome("passed", True)
