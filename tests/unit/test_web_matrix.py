"""The build page's job matrix: columns are the keys that vary; stages keep their order."""

from __future__ import annotations

from typing import Any

from roundhouse.platform.web.matrix import job_matrix


def job(number: str, stage: str, allow_failure: bool = False, **config: Any) -> dict[str, Any]:
    return {"number": number, "stage": stage, "allow_failure": allow_failure, "config": config}


def test_columns_are_the_varying_keys_and_allowed_failures_are_apart() -> None:
    jobs = [
        job("1.1", "test", os="linux", python="3.11", env="A=1"),
        job("1.2", "test", os="linux", python="3.12", env="A=1"),
        job("1.3", "test", True, os="linux", python="3.12", env=["A=2", "B=3"]),
        job("1.4", "deploy", os="linux", python="3.11", env="A=1"),
    ]
    matrix = job_matrix(jobs)
    assert matrix["columns"] == ["python", "env"]
    assert [s["name"] for s in matrix["stages"]] == ["test", "deploy"]
    test = matrix["stages"][0]
    assert [j["number"] for j in test["required"]] == ["1.1", "1.2"]
    assert [j["cells"] for j in test["allowed"]] == [["3.12", "A=2 B=3"]]
    assert matrix["named"] is False


def test_a_single_job_still_shows_what_it_ran_with() -> None:
    matrix = job_matrix([job("1.1", "", language="python", python="3.11")])
    assert matrix["columns"] == ["language", "python"]
    assert matrix["stages"][0]["required"][0]["cells"] == ["python", "3.11"]
