"""A build's state derived from its jobs, and when a stage counts as failed.

Allowed failures never fail a build; with fast_finish the build ends once required jobs have.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol, TypeVar

from roundhouse.protocol import FINISHED_STATES


class JobLike(Protocol):
    """What these rules read of a job: a Job, or a JobRow."""

    @property
    def state(self) -> str: ...

    @property
    def allow_failure(self) -> bool: ...

    @property
    def stage(self) -> str | None: ...


class JobRow(NamedTuple):
    """The columns of a job the build's state needs (cheaper to load than a Job)."""

    id: int
    attempt: int
    stage: str | None
    state: str
    allow_failure: bool


J = TypeVar("J", bound=JobLike)


def current_stage_jobs(stages: Sequence[str], jobs: Sequence[J]) -> list[J]:
    """The jobs of the first stage (in the build's stage order) with unfinished jobs."""
    order = {name.lower(): index for index, name in enumerate(stages)}

    def stage_index(job: JobLike) -> int:
        return order.get((job.stage or "").lower(), len(order))

    unfinished = [job for job in jobs if job.state not in FINISHED_STATES]
    if not unfinished:
        return []
    first = min(stage_index(job) for job in unfinished)
    return [job for job in jobs if stage_index(job) == first]


# Worst first: the build takes the worst result among its required jobs.
RESULT_ORDER = ("errored", "failed", "canceled", "passed")


def stage_failed(stage: Sequence[JobLike]) -> bool:
    """A finished stage fails when a required job did not pass; later stages are canceled."""
    if not all(job.state in FINISHED_STATES for job in stage):
        return False
    return any(job.state != "passed" and not job.allow_failure for job in stage)


def result_of(jobs: Sequence[JobLike]) -> str:
    required = [job.state for job in jobs if not job.allow_failure]
    for state in RESULT_ORDER:
        if state in required:
            return state
    return "passed"


def build_state(jobs: Sequence[JobLike], fast_finish: bool) -> str:
    if not jobs:
        return "errored"
    finished = [job for job in jobs if job.state in FINISHED_STATES]
    required_unfinished = [
        j for j in jobs if j.state not in FINISHED_STATES and not j.allow_failure
    ]
    if len(finished) == len(jobs) or (fast_finish and not required_unfinished):
        return result_of(jobs)
    states = {job.state for job in jobs}
    if states & {"received", "started"} or finished:
        return "started"
    if "queued" in states:
        return "queued"
    return "created"
