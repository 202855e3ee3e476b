"""Conformance: build matrices against Travis's own expected results (shared/conformance).

Cases not passed yet are listed in KNOWN_FAILING and run as strict xfails.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from roundhouse.travisyml import build_matrix, stages
from roundhouse.travisyml.env import pairs, settings_env, vars_of
from roundhouse.travisyml.filters import Conditions
from roundhouse.travisyml.load import load
from roundhouse.travisyml.matrix import rows
from roundhouse.travisyml.messages import Message, Messages
from roundhouse.travisyml.normalize import normalize
from tests.conformance import shared_data

DATA = shared_data("matrix.json")
if not DATA.exists():
    pytest.skip(f"conformance data not found at {DATA}", allow_module_level=True)

CASES: list[dict[str, Any]] = json.loads(DATA.read_text())

KNOWN_FAILING: dict[str, str] = {}


def _env_pairs(env: Any) -> list[tuple[str, str]]:
    """Travis's env (list of hashes) and ours (NAME=value strings) as comparable pairs."""
    found, _ = vars_of(env)
    return pairs(found)


def comparable(job: dict[str, Any]) -> dict[str, Any]:
    out = dict(job)
    if "env" in out:
        out["env"] = _env_pairs(out["env"])
    return out


def _messages(messages: list[Message]) -> list[tuple[str, str, str, dict[str, Any]]]:
    return [(m.level, m.key, m.code, m.args) for m in messages]


def assert_messages(case: dict[str, Any], messages: list[Message]) -> None:
    ours = _messages(messages)
    if case.get("expected_no_messages"):
        assert ours == []
    for level, key, code, args in case.get("expected_messages", []):
        assert any(
            (lv, k, c) == (level, key, code) and all(a.get(n) == v for n, v in args.items())
            for lv, k, c, a in ours
        ), f"missing {[level, key, code, args]} in {ours}"


def run_matrix_api(case: dict[str, Any]) -> None:
    """`Travis::Yml.matrix(config).rows`: expansion only, no stages or flags."""
    defaults = bool(case.get("options", {}).get("defaults"))
    if "config_yaml" in case:
        loaded = load(case["config_yaml"])
        msgs, config = loaded.messages, loaded.config
    else:
        msgs, config = Messages(), case["config"]
    normalized = normalize(config, msgs, defaults=defaults)
    assert normalized is not None
    data = dict(case.get("data") or {})
    conditions = Conditions(data, settings_env(data.get("env")), msgs)
    jobs = [r.travis_config() for r in rows(normalized, conditions)]
    assert [comparable(j) for j in jobs] == [comparable(j) for j in case["expected_jobs"]]


def run_configs_api(case: dict[str, Any]) -> None:
    """The whole request pipeline: `build_matrix`."""
    defaults = bool(case.get("options", {}).get("defaults"))
    request = dict(case.get("data") or {})
    if "api_config_yaml" in case:
        request["config"] = case["api_config_yaml"]
    result = build_matrix(case["config_yaml"], request, defaults=defaults)
    assert result.accepted, result.reason
    jobs = []
    for job in result.jobs:
        config = dict(job.config)
        if job.stage is not None:
            config["stage"] = job.stage
        if job.allow_failure:
            config["allow_failure"] = True
        jobs.append(config)
    if "expected_jobs" in case:
        assert [comparable(j) for j in jobs] == [comparable(j) for j in case["expected_jobs"]]
    if "expected_job_count" in case:
        assert len(jobs) == case["expected_job_count"]
    if "expected_stage_count" in case:
        assert len(result.stages) == case["expected_stage_count"]
    if "expected_stages" in case:
        assert result.stages == [s["name"] for s in case["expected_stages"]]
    if "expected_allow_failure" in case:
        expected = [bool(flag) for flag in case["expected_allow_failure"]]
        assert [job.allow_failure for job in result.jobs] == expected
    if "expected_notifications" in case:
        assert result.notifications == case["expected_notifications"]
    if "expected_notifications_size" in case:
        assert len(result.notifications) == case["expected_notifications_size"]
    assert_messages(case, result.messages)


def run_stages_api(case: dict[str, Any]) -> None:
    """The stage-assignment step alone, on already expanded jobs."""
    msgs = Messages()
    defs = normalize(case["config"], msgs, defaults=False) or {}
    conditions = Conditions(dict(case.get("data") or {}), {}, msgs)
    stage_list, job_stages = stages.assign(
        defs.get("stages"), [j.get("stage") for j in case["input_jobs"]]
    )

    def check(number: int, stage: stages.Stage) -> bool:
        return bool(conditions.check(stage.condition, conditions.stage_data({}), "stages.if"))

    stage_list, keep = stages.filter_stages(stage_list, job_stages, check)
    if "expected_stages" in case:
        assert [s.to_json() for s in stage_list] == case["expected_stages"]
    if "expected_job_stages" in case:
        assert job_stages == case["expected_job_stages"]
    if "expected_jobs" in case:
        kept = [{"stage": s} for s, k in zip(job_stages, keep, strict=True) if k]
        assert kept == case["expected_jobs"]


RUNNERS = {
    "matrix": run_matrix_api,
    "expand": run_matrix_api,
    "configs": run_configs_api,
    "stages": run_stages_api,
}


def _param(case: dict[str, Any]) -> Any:
    marks = []
    if case["id"] in KNOWN_FAILING:
        marks.append(pytest.mark.xfail(reason=KNOWN_FAILING[case["id"]], strict=True))
    return pytest.param(case, id=case["id"], marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    RUNNERS[case["api"]](case)


def test_known_failing_ids_exist() -> None:
    ids = {c["id"] for c in CASES}
    assert set(KNOWN_FAILING) <= ids
