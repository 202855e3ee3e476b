"""Splitting and reading env var lines."""

from __future__ import annotations

from roundhouse.travisyml.env import pairs, settings_env, split_line, unquote, vars_of


def test_split_respects_quotes_backticks_and_subshells() -> None:
    line = 'A=1 B="x y" C=\'q r\' D=`echo a b` E=$(echo "c d") F='
    found, invalid = split_line(line)
    assert found == ["A=1", 'B="x y"', "C='q r'", "D=`echo a b`", 'E=$(echo "c d")', "F="]
    assert invalid == []


def test_invalid_words_are_reported() -> None:
    found, invalid = split_line("A=1 oops 2B=3")
    assert found == ["A=1"]
    assert invalid == ["oops", "2B=3"]


def test_unquote() -> None:
    assert unquote('"x y"') == "x y"
    assert unquote("a'b c'd") == "ab cd"
    assert unquote("a\\ b") == "a b"


def test_vars_of_hashes_secure_and_lists() -> None:
    found, _ = vars_of([{"A": "one", "B": 2}, {"secure": "c2VjdXJl"}, "C=3 D=4"])
    assert found == ["A=one", "B=2", {"secure": "c2VjdXJl"}, "C=3", "D=4"]


def test_hash_values_with_spaces_stay_one_word() -> None:
    found, _ = vars_of({"A": "x y"})
    assert found == ['A="x y"']
    assert pairs(found) == [("A", "x y")]


def test_settings_env_shapes() -> None:
    assert settings_env([{"SETTING": "on"}]) == {"SETTING": "on"}
    assert settings_env({"A": True}) == {"A": "true"}
    assert settings_env(["A=1 B='x y'"]) == {"A": "1", "B": "x y"}
