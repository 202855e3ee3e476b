"""The build result rules: required jobs decide, fast_finish, failed stages cancel later ones."""

from __future__ import annotations

import pytest

from roundhouse.travisyml import JobState, build_result


def test_no_jobs_passes() -> None:
    outcome = build_result([])
    assert (outcome.state, outcome.finished) == ("passed", True)


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (["passed", "passed"], "passed"),
        (["passed", "failed"], "failed"),
        (["failed", "errored"], "errored"),
        (["errored", "canceled"], "canceled"),
    ],
)
def test_worst_required_state_wins(states: list[str], expected: str) -> None:
    outcome = build_result([JobState(s) for s in states])
    assert (outcome.state, outcome.finished) == (expected, True)


def test_allowed_failures_do_not_count() -> None:
    jobs = [JobState("passed"), JobState("failed", allow_failure=True)]
    assert build_result(jobs).state == "passed"
    assert build_result([JobState("errored", allow_failure=True)]).state == "passed"


def test_build_waits_for_allowed_failures_without_fast_finish() -> None:
    jobs = [JobState("passed"), JobState("started", allow_failure=True)]
    outcome = build_result(jobs)
    assert (outcome.state, outcome.finished) == ("started", False)


def test_fast_finish_finishes_when_required_jobs_are_done() -> None:
    jobs = [JobState("passed"), JobState("started", allow_failure=True)]
    outcome = build_result(jobs, fast_finish=True)
    assert (outcome.state, outcome.finished) == ("passed", True)


def test_running_states() -> None:
    assert build_result([JobState("created")]).state == "created"
    assert build_result([JobState("queued"), JobState("created")]).state == "queued"
    assert build_result([JobState("passed"), JobState("created")]).state == "started"


def test_only_the_first_unfinished_stage_is_startable() -> None:
    jobs = [
        JobState("passed", stage="test"),
        JobState("created", stage="test"),
        JobState("created", stage="deploy"),
    ]
    outcome = build_result(jobs, stages=["test", "deploy"])
    assert outcome.startable == [1]
    assert not outcome.finished


def test_failed_stage_cancels_later_stages_and_decides_the_build() -> None:
    jobs = [
        JobState("failed", stage="Test"),
        JobState("passed", stage="test"),
        JobState("created", stage="deploy"),
        JobState("created", stage="release"),
    ]
    outcome = build_result(jobs, stages=["test", "deploy", "release"])
    assert (outcome.state, outcome.finished) == ("failed", True)
    assert outcome.cancel == [2, 3]


def test_stage_order_comes_from_the_stages_list() -> None:
    jobs = [JobState("created", stage="b"), JobState("passed", stage="a")]
    outcome = build_result(jobs, stages=["a", "b"])
    assert outcome.startable == [0]


def test_all_stages_passed() -> None:
    jobs = [JobState("passed", stage="a"), JobState("passed", stage="b")]
    assert build_result(jobs).state == "passed"
