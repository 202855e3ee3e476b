"""Loading `.travis.yml` text with Travis's YAML rules."""

from __future__ import annotations

from roundhouse.travisyml.load import load


def test_floats_booleans_and_timestamps_stay_strings() -> None:
    loaded = load("python: [3.10, 3.9]\non: yes\nd: off\nwhen: 2020-01-01\nflag: true\nn: 3\n")
    assert loaded.config == {
        "python": ["3.10", "3.9"],
        "on": "yes",
        "d": "off",
        "when": "2020-01-01",
        "flag": True,
        "n": 3,
    }


def test_leading_colon_is_removed_from_keys() -> None:
    assert load(":language: ruby\n").config == {"language": "ruby"}


def test_lines_of_key_paths_are_recorded() -> None:
    loaded = load("language: ruby\njobs:\n  include:\n    - name: one\n")
    assert loaded.lines["language"] == 1
    assert loaded.lines["jobs.include"] == 3
    assert loaded.lines["jobs.include.0.name"] == 4


def test_syntax_error_has_line_and_column() -> None:
    loaded = load("language: ruby\nscript: [a\nos: linux\n")
    assert not loaded.ok
    (message,) = loaded.messages.items
    assert message.level == "error"
    assert message.code == "syntax_error"
    assert message.line == 3
    assert "column" in message.text


def test_anchors_and_merge_keys() -> None:
    loaded = load("base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\ny: *b\n")
    assert loaded.config["x"] == {"a": 1, "b": 3}
    assert loaded.config["y"] == {"a": 1, "b": 2}


def test_alias_bomb_is_stopped() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    loaded = load("\n".join(lines) + "\n")
    assert not loaded.ok
    assert loaded.messages.items[0].code == "too_many_nodes"


def test_recursive_alias_does_not_loop() -> None:
    loaded = load("a: &a [*a]\n")
    assert loaded.ok
    assert loaded.config == {"a": [None]}


def test_size_limit() -> None:
    loaded = load("a: " + "x" * 200, max_bytes=100)
    assert not loaded.ok
    assert loaded.messages.items[0].code == "too_large"


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    loaded = load("[" * 50_000)
    assert not loaded.ok


def test_empty_text_is_an_empty_config() -> None:
    loaded = load("")
    assert loaded.ok
    assert loaded.config is None


def test_duplicate_key_warns_and_later_wins() -> None:
    loaded = load("os: linux\nos: osx\n")
    assert loaded.config == {"os": "osx"}
    assert [m.code for m in loaded.messages.items] == ["duplicate_key"]
