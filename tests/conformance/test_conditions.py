"""Conformance of the conditions language with Travis CI's own specs (conditions.json).

Every case of the shared data set is one test; known gaps are listed in KNOWN_FAILING.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from roundhouse.travisyml.conditions import ConditionError, evaluate, parse, validate
from tests.conformance import shared_data

CASES_PATH = shared_data("conditions.json")

if not CASES_PATH.is_file():
    pytest.skip(f"conformance data not found at {CASES_PATH}", allow_module_level=True)

# Case ids we knowingly do not pass; strict xfail makes a fix show up as a failure to remove.
KNOWN_FAILING: set[str] = set()


def _load_cases() -> list[Any]:
    cases = json.loads(CASES_PATH.read_text(encoding="utf-8"))
    return [
        pytest.param(
            case,
            id=case["id"],
            marks=pytest.mark.xfail(strict=True) if case["id"] in KNOWN_FAILING else (),
        )
        for case in cases
    ]


def _as_tuples(node: Any) -> Any:
    """JSON trees use lists; parse() returns tuples so that cached trees stay immutable."""
    if isinstance(node, list):
        return tuple(_as_tuples(item) for item in node)
    return node


@pytest.mark.parametrize("case", _load_cases())
def test_case(case: dict[str, Any]) -> None:
    if "expected" in case:
        _check_evaluation(case)
    elif case.get("error"):
        _check_rejection(case)
    else:
        _check_parse(case)


def _check_evaluation(case: dict[str, Any]) -> None:
    assert evaluate(case["expr"], case["data"], case["version"]) is case["expected"]


def _check_rejection(case: dict[str, Any]) -> None:
    version = case["version"]
    if case["error_phase"] == "parse":
        with pytest.raises(ConditionError):
            parse(case["expr"], version, keys=case.get("keys"))
    else:
        with pytest.raises(ConditionError):
            evaluate(case["expr"], case["data"], version)
    message = validate(case["expr"], version)
    assert message is not None
    if "error_message" in case:
        assert message == case["error_message"]


def _check_parse(case: dict[str, Any]) -> None:
    tree = parse(case["expr"], case["version"], keys=case.get("keys"))
    if "ast" in case:
        assert tree == _as_tuples(case["ast"])
