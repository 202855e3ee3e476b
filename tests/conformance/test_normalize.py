"""Conformance: config normalisation and messages against Travis's expected results.

Cases not passed are listed in KNOWN_FAILING_REASONS, each with its reason, as strict xfails
(at most 2 % of the cases).
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

# Cases not passed (under spec/travis/yml/), each with the reason. Travis runs some specs with
# `drop: true` (invalid values removed) and others with `drop: false` (kept, reported);
# Roundhouse keeps invalid values and reports them, so one of each such pair fails.
DROP_MODE = "needs travis-yml's `drop: true` mode; Roundhouse keeps invalid values (reported)"
KNOWN_FAILING_REASONS: dict[str, str] = {
    "accept/addon/apt_spec.rb:008": "typo repair guesses `go` for the unknown key `two`, "
    "Travis's spelling dictionary does not",
    "accept/cache_spec.rb:001": DROP_MODE,
    "accept/conditions_spec.rb:011": "a stage with `if:` but no name is dropped (Travis keeps "
    "it nameless, which its own stage assignment then cannot use)",
    "accept/conditions_spec.rb:014": "Travis reports a false root `if:` as a skipped job in "
    "this context; Roundhouse reports it as a skipped build (skip_root)",
    "accept/imports_spec.rb:002": "ref syntax of import sources (`invalid_ref`) is not checked "
    "when imports are resolved by the caller",
    "accept/jobs_spec.rb:015": DROP_MODE,
    "accept/notifications/webhooks_spec.rb:025": "an unknown key in `webhooks:` is kept as a key "
    "(with a warning); Travis wraps the whole map into `urls:`",
    "doc/accept/changes/cache_spec.rb:009": "the line of a key inside a list item of `cache:` "
    "is not known (the message has no line)",
    "doc/accept/validate/invalid_type_spec.rb:009": "the non-string `os` value is dropped "
    "(reported); Travis keeps it in this mode",
    "doc/accept/validate/invalid_type_spec.rb:013": DROP_MODE,
    "doc/accept/validate/unknown_keys_spec.rb:002": "messages carry no `src` (file name) argument",
    "doc/accept/validate/unknown_keys_spec.rb:003": DROP_MODE,
    "doc/accept/validate/unknown_keys_spec.rb:004": "anchors on non-private keys are reported "
    "as unknown keys, not with Travis's deprecation",
    "doc/accept/validate/unknown_value_spec.rb:003": DROP_MODE,
}
KNOWN_FAILING: dict[str, str] = {
    f"travis-yml:spec/travis/yml/{case}": reason for case, reason in KNOWN_FAILING_REASONS.items()
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
        marks.append(pytest.mark.xfail(reason=KNOWN_FAILING[case["id"]], strict=True))
    return pytest.param(case, id=case["id"], marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    run(case)


def test_known_failing_ids_exist() -> None:
    ids = {c["id"] for c in CASES}
    assert ids >= set(KNOWN_FAILING)
    assert len(KNOWN_FAILING) <= 0.02 * len(CASES), "more than 2 % of the cases fail"
