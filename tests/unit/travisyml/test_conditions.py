"""A guided tour of the `if:` conditions language, written as tests for newcomers.

Each test shows one rule of the language with a small request; conformance lives elsewhere.
"""

from __future__ import annotations

from typing import Any

import pytest

from roundhouse.travisyml.conditions import ConditionError, evaluate, parse, validate

PUSH_TO_MASTER: dict[str, Any] = {
    "type": "push",
    "branch": "master",
    "tag": None,
    "repo": "acme/widget",
    "fork": False,
    "commit_message": "Fix the build\n\n[deploy]",
    "env": ["DEPLOY=true TARGET='staging eu'"],
}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("branch = master", True),
        ("branch != master", False),
        ("type IN (push, api)", True),
        ("branch NOT IN (master, dev)", False),
        ("tag IS present", False),
        ("tag IS blank", True),
        ("repo = acme/widget AND fork = false", True),
    ],
)
def test_comparisons_read_request_attributes(expr: str, expected: bool) -> None:
    assert evaluate(expr, PUSH_TO_MASTER) is expected


def test_keywords_are_case_insensitive_and_have_symbol_aliases() -> None:
    assert evaluate("branch = master and not tag is present", PUSH_TO_MASTER)
    assert evaluate("branch == master && !(type = cron)", PUSH_TO_MASTER)


def test_and_binds_tighter_than_or_and_chains_nest_left() -> None:
    assert parse("a OR b AND c") == ("or", ("val", "a"), ("and", ("val", "b"), ("val", "c")))
    assert parse("a AND b AND c") == ("and", ("and", ("val", "a"), ("val", "b")), ("val", "c"))


def test_regexes_are_unanchored_ruby_regexes_matching_per_line() -> None:
    # ^ and $ match at every line of a multi-line commit message, as in Ruby.
    assert evaluate(r"commit_message =~ ^\[deploy\]$", PUSH_TO_MASTER)
    # Wrap a pattern in /…/ when it contains spaces or ends with ")".
    assert evaluate("commit_message =~ /the build/", PUSH_TO_MASTER)
    assert not evaluate("tag =~ ^v", PUSH_TO_MASTER)  # a nil side never matches


def test_env_reads_config_variables_with_quotes_removed() -> None:
    assert evaluate("env(TARGET) = 'staging eu'", PUSH_TO_MASTER)
    assert evaluate("env(MISSING) IS blank", PUSH_TO_MASTER)
    assert evaluate('concat(branch, "-", env(TARGET)) = "master-staging eu"', PUSH_TO_MASTER)


def test_text_true_and_false_compare_as_booleans() -> None:
    assert evaluate("env(DEPLOY) = true", PUSH_TO_MASTER)
    assert evaluate("fork = FALSE", PUSH_TO_MASTER)
    assert evaluate("env(DEPLOY) IS true", PUSH_TO_MASTER)


def test_invalid_conditions_raise_and_validate_explains_why() -> None:
    with pytest.raises(ConditionError):
        parse("branch IS master")  # only present, blank, true and false follow IS
    assert validate("branch = master") is None
    assert validate("tag =~ /[z-a]/") == "Invalid regular expression: /[z-a]/"
    message = validate("branch = $TRAVIS_BRANCH")
    assert message is not None and message.startswith("Strings cannot start with a dollar")


def test_legacy_v0_compares_plain_strings() -> None:
    assert parse("branch = master", "v0") == ("eq", "branch", "master")
    assert evaluate("branch IN (master, dev)", PUSH_TO_MASTER, "v0")
    assert validate("true", "v0") is not None  # v0 needs a variable on the left
