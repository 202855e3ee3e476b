"""Conformance: config normalisation and messages against Travis's expected results.

Cases not passed yet are listed in KNOWN_FAILING (compactly, by spec file) as strict xfails.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from roundhouse.travisyml import build_matrix
from roundhouse.travisyml.env import pairs, vars_of
from roundhouse.travisyml.load import load
from roundhouse.travisyml.messages import Message
from roundhouse.travisyml.normalize import normalize
from tests.conformance import shared_data

DATA = shared_data("normalize.json")
if not DATA.exists():
    pytest.skip(f"conformance data not found at {DATA}", allow_module_level=True)

CASES: list[dict[str, Any]] = json.loads(DATA.read_text())

# Spec file (under spec/travis/yml/) -> counters of the cases not passed yet.
KNOWN_FAILING_BY_FILE: dict[str, str] = {
    "accept/addon/apt_spec.rb": "008",
    "accept/arch_spec.rb": "011",
    "accept/cache_spec.rb": "001",
    "accept/conditions_spec.rb": "011 014",
    "accept/imports_spec.rb": "001-005",
    "accept/jobs_spec.rb": "010 015 019 032",
    "accept/lang/android_spec.rb": "004 006",
    "accept/lang/dart_spec.rb": "005-006",
    "accept/lang/r_spec.rb": "029",
    "accept/notifications/flowdock_spec.rb": "012",
    "accept/notifications/pushover_spec.rb": "007-012 020-025",
    "accept/notifications/webhooks_spec.rb": "025",
    "accept/notifications_spec.rb": "011-012",
    "accept/scripts_spec.rb": "016",
    "accept/services_spec.rb": "015-016",
    "accept/workspaces_spec.rb": "001 003",
    "doc/accept/changes/cache_spec.rb": "009",
    "doc/accept/changes/enable_spec.rb": "002 004 006",
    "doc/accept/validate/default_spec.rb": "003",
    "doc/accept/validate/invalid_type_spec.rb": "009-010 013",
    "doc/accept/validate/unknown_keys_spec.rb": "002-004",
    "doc/accept/validate/unknown_value_spec.rb": "003",
}


def _expand(counters: str) -> list[str]:
    out: list[str] = []
    for part in counters.split():
        if "-" in part:
            first, last = part.split("-")
            out.extend(f"{n:03d}" for n in range(int(first), int(last) + 1))
        else:
            out.append(part)
    return out


KNOWN_FAILING: set[str] = {
    f"travis-yml:spec/travis/yml/{spec}:{counter}"
    for spec, counters in KNOWN_FAILING_BY_FILE.items()
    for counter in _expand(counters)
}


def _env_pairs(value: Any) -> list[tuple[str, str]]:
    found, _ = vars_of(value)
    return pairs(found) + [("secure", v["secure"]) for v in found if isinstance(v, dict)]


def comparable(config: Any) -> Any:
    """Both sides with env reduced to (name, value) pairs, so var grouping does not matter."""
    if not isinstance(config, dict):
        return config
    out = dict(config)
    env = out.get("env")
    if isinstance(env, dict) and ("jobs" in env or "global" in env):
        out["env"] = {
            "jobs": [_env_pairs(e) for e in env.get("jobs") or [] if _env_pairs(e)],
            "global": _env_pairs(env.get("global") or []),
        }
    jobs = out.get("jobs")
    if isinstance(jobs, dict):
        out["jobs"] = {
            key: [_entry(e) for e in value] if isinstance(value, list) else value
            for key, value in jobs.items()
        }
    return out


def _entry(entry: Any) -> Any:
    if isinstance(entry, dict) and "env" in entry:
        return {**entry, "env": _env_pairs(entry["env"])}
    return entry


def _ours(messages: list[Message]) -> list[tuple[str, str, str, dict[str, Any], int | None]]:
    return [(m.level, m.key, m.code, m.args, m.line) for m in messages]


def _has(ours: list[Any], expected: list[Any]) -> bool:
    level, key, code, *rest = expected  # a message without arguments has no fourth element
    args = rest[0] if rest else {}
    for lv, k, c, a, line in ours:
        if (lv, k, c) != (level, key, code):
            continue
        plain = {n: v for n, v in args.items() if n != "line"}
        if all(a.get(n) == v for n, v in plain.items()) and (
            "line" not in args or line == args["line"] + 1
        ):
            return True
    return False


def run(case: dict[str, Any]) -> None:
    options = case.get("options") or {}
    loaded = load(case["config_yaml"])
    msgs = loaded.messages
    assert loaded.ok, [str(m) for m in msgs.items]
    config = normalize(loaded.config, msgs, defaults=bool(options.get("defaults")))
    messages = list(msgs.items)
    if case["contexts"] == ["configs"]:
        result = build_matrix(case["config_yaml"], case.get("data") or {}, defaults=False)
        messages = result.messages
    if "expected_config" in case:
        assert comparable(config) == comparable(case["expected_config"])
    ours = _ours(messages)
    if case.get("messages_exhaustive"):
        assert [m[:4] for m in ours] == []
    for expected in case.get("expected_messages") or []:
        assert _has(ours, expected), f"missing {expected} in {[m[:4] for m in ours]}"
    for unexpected in case.get("unexpected_messages") or []:
        assert not _has(ours, unexpected), f"unexpected {unexpected}"


def _param(case: dict[str, Any]) -> Any:
    marks = []
    if case["id"] in KNOWN_FAILING:
        marks.append(pytest.mark.xfail(reason="not supported yet", strict=True))
    return pytest.param(case, id=case["id"], marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    run(case)


def test_known_failing_ids_exist() -> None:
    ids = {c["id"] for c in CASES}
    assert ids >= KNOWN_FAILING
