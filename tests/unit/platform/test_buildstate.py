"""A build's state from its jobs (allowed failures, fast_finish) and when a stage fails."""

from __future__ import annotations

import pytest

from roundhouse.db.models import Job
from roundhouse.platform.buildstate import build_state, stage_failed


def job(state: str, allow_failure: bool = False) -> Job:
    return Job(state=state, allow_failure=allow_failure, number="1.1", queue="builds.default")


def jobs(*states: str) -> list[Job]:
    """'failed?' is an allowed failure in state failed."""
    return [job(s.rstrip("?"), allow_failure=s.endswith("?")) for s in states]


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (["passed"], "passed"),
        (["passed", "passed"], "passed"),
        (["passed", "failed"], "failed"),
        (["failed", "errored", "passed"], "errored"),  # the worst result wins
        (["canceled", "failed"], "failed"),
        (["canceled", "passed"], "canceled"),
        (["errored", "canceled"], "errored"),
        (["passed", "failed?"], "passed"),  # an allowed failure does not fail the build
        (["passed", "errored?"], "passed"),
        (["passed", "canceled?"], "passed"),
        (["failed", "failed?"], "failed"),
    ],
)
def test_finished_build(states: list[str], expected: str) -> None:
    assert build_state(jobs(*states), fast_finish=False) == expected
    assert build_state(jobs(*states), fast_finish=True) == expected


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (["created", "created"], "created"),
        (["queued", "created"], "queued"),
        (["received", "queued"], "started"),
        (["started", "created"], "started"),
        (["passed", "created"], "started"),  # one finished: the build is under way
        (["failed", "queued"], "started"),
        (["passed", "started?"], "started"),  # waits for the allowed failure
    ],
)
def test_unfinished_build(states: list[str], expected: str) -> None:
    assert build_state(jobs(*states), fast_finish=False) == expected


def test_fast_finish_ends_once_the_required_jobs_have() -> None:
    states = ["passed", "started?", "queued?"]

    assert build_state(jobs(*states), fast_finish=True) == "passed"
    assert build_state(jobs(*states), fast_finish=False) == "started"


def test_fast_finish_with_a_failed_required_job() -> None:
    assert build_state(jobs("failed", "passed", "started?"), fast_finish=True) == "failed"


def test_fast_finish_still_waits_for_required_jobs() -> None:
    assert build_state(jobs("passed", "started", "started?"), fast_finish=True) == "started"
    assert build_state(jobs("created", "created?"), fast_finish=True) == "created"


def test_build_without_jobs_is_errored() -> None:
    assert build_state([], fast_finish=False) == "errored"


@pytest.mark.parametrize(
    ("states", "failed"),
    [
        (["passed", "passed"], False),
        (["passed", "failed"], True),
        (["passed", "errored"], True),
        (["passed", "canceled"], True),
        (["passed", "failed?"], False),  # allowed failures never fail a stage
        (["errored?", "canceled?"], False),
        (["failed", "started"], False),  # not finished yet: not decided
        (["failed", "started?"], False),
        (["created"], False),
    ],
)
def test_stage_failed(states: list[str], failed: bool) -> None:
    assert stage_failed(jobs(*states)) is failed
