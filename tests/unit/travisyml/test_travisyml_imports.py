"""Imports and API request configs, merged with Travis's merge modes."""

from __future__ import annotations

import pytest

from roundhouse.travisyml import build_matrix
from roundhouse.travisyml.imports import merge


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("deep_merge_append", {"a": {"x": 1, "y": 2}, "s": ["two", "one"], "v": "left"}),
        ("deep_merge_prepend", {"a": {"x": 1, "y": 2}, "s": ["one", "two"], "v": "left"}),
        ("deep_merge", {"a": {"x": 1, "y": 2}, "s": ["one"], "v": "left"}),
        ("merge", {"a": {"x": 1}, "s": ["one"], "v": "left"}),
        ("replace", {"a": {"x": 1}, "s": ["one"], "v": "left"}),
    ],
)
def test_merge_modes(mode: str, expected: dict) -> None:
    importing = {"a": {"x": 1}, "s": ["one"], "v": "left"}
    imported = {"a": {"y": 2}, "s": ["two"], "v": "right"}
    assert merge(importing, imported, mode) == expected


def test_imports_are_fetched_through_the_callers_function() -> None:
    files = {
        "./shared.yml": "language: python\nscript: [pytest]\nimport: ./more.yml\n",
        "./more.yml": "env:\n  global: [FROM_MORE=1]\nimport: ./shared.yml\n",
    }
    calls: list[tuple[str, str | None]] = []

    def fetch(source: str, parent: str | None) -> str | None:
        calls.append((source, parent))
        return files.get(source)

    result = build_matrix("import: ./shared.yml\nscript: [lint]\n", import_fn=fetch)
    (job,) = result.jobs
    assert job.config["language"] == "python"
    assert job.config["script"] == ["pytest", "lint"]
    assert job.config["env"] == ["FROM_MORE=1"]
    # The cycle back to shared.yml is skipped.
    assert calls == [("./shared.yml", None), ("./more.yml", "./shared.yml")]


def test_missing_and_failing_imports_are_messages() -> None:
    def fetch(source: str, parent: str | None) -> str | None:
        if source == "boom.yml":
            raise OSError("network down")
        return None

    result = build_matrix("import: [nope.yml, boom.yml]\n", import_fn=fetch)
    assert result.accepted
    assert [m.code for m in result.messages if m.level == "error"] == [
        "unknown_import",
        "import_failed",
    ]


def test_imports_without_a_fetch_function_are_reported() -> None:
    result = build_matrix("import: x.yml\n")
    assert any(m.code == "import_not_resolved" for m in result.messages)


def test_too_many_imports() -> None:
    text = "import:\n" + "".join(f"  - f{i}.yml\n" for i in range(30))
    result = build_matrix(text, import_fn=lambda source, parent: "script: [x]\n")
    assert any(m.code == "too_many_imports" for m in result.messages)


def test_api_request_config_wins_and_merges() -> None:
    request = {"type": "api", "config": "script: [api]\nenv: A=1\n"}
    (job,) = build_matrix("script: [file]\nlanguage: python\n", request).jobs
    assert job.config["script"] == ["file", "api"]
    assert job.config["env"] == ["A=1"]
    replaced = build_matrix("script: [file]\n", {**request, "merge_mode": "replace"})
    assert replaced.jobs[0].config["script"] == ["api"]
