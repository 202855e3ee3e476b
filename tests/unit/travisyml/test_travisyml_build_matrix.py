"""`build_matrix`: from `.travis.yml` text and request data to the jobs of a build."""

from __future__ import annotations

import pytest

from roundhouse.travisyml import MatrixResult, Message, build_matrix
from roundhouse.travisyml.cond import available as conditions_available

needs_conditions = pytest.mark.skipif(
    not conditions_available(), reason="roundhouse.travisyml.conditions is not written yet"
)


def configs(result: MatrixResult) -> list[dict]:
    return [job.config for job in result.jobs]


def test_empty_file_gives_one_default_ruby_job() -> None:
    result = build_matrix("")
    assert result.accepted
    assert configs(result) == [{"language": "ruby", "os": "linux", "dist": "focal"}]
    assert result.stages == []
    assert result.jobs[0].stage is None
    assert result.jobs[0].number == 1


def test_without_defaults_nothing_is_filled_in() -> None:
    assert configs(build_matrix("", defaults=False)) == [{}]


def test_version_keys_expand_and_stay_strings() -> None:
    result = build_matrix("language: python\npython: [3.10, 3.9, 3]\n")
    assert [c["python"] for c in configs(result)] == ["3.10", "3.9", "3"]
    assert [job.number for job in result.jobs] == [1, 2, 3]


def test_env_global_is_prepended_and_env_jobs_expand_last() -> None:
    text = "rvm: [2.7, 3.0]\nenv:\n  global: [G=1]\n  jobs: [A=1, A=2]\n"
    result = build_matrix(text)
    assert [(c["rvm"], c["env"]) for c in configs(result)] == [
        ("2.7", ["G=1", "A=1"]),
        ("2.7", ["G=1", "A=2"]),
        ("3.0", ["G=1", "A=1"]),
        ("3.0", ["G=1", "A=2"]),
    ]


def test_env_matrix_is_env_jobs_and_a_list_makes_one_job_each() -> None:
    one = build_matrix("env:\n  matrix: [A=1, A=2]\n")
    two = build_matrix("env: [A=1, A=2]\n")
    assert configs(one) == configs(two)
    assert [c["env"] for c in configs(one)] == [["A=1"], ["A=2"]]


def test_one_env_line_with_several_vars_is_one_job() -> None:
    result = build_matrix('env: A=1 B="x y"\n')
    assert [c["env"] for c in configs(result)] == [["A=1", 'B="x y"']]


def test_secure_env_entries_are_kept() -> None:
    result = build_matrix("env:\n  global:\n    - secure: c2VjdXJl\n  jobs: [A=1]\n")
    assert configs(result)[0]["env"] == [{"secure": "c2VjdXJl"}, "A=1"]


def test_phases_become_lists_of_strings() -> None:
    text = "script: make test\ninstall: [a, 1]\nafter_script: true\n"
    (config,) = configs(build_matrix(text))
    assert config["script"] == ["make test"]
    assert config["install"] == ["a", "1"]
    assert config["after_script"] == ["true"]


def test_include_inherits_root_and_first_value_of_expansion_keys() -> None:
    text = (
        "language: python\npython: [3.8, 3.9]\nscript: pytest\n"
        "jobs:\n  include:\n    - name: lint\n      script: ruff\n"
    )
    result = build_matrix(text)
    assert [(j.name, j.config["python"], j.config["script"]) for j in result.jobs] == [
        (None, "3.8", ["pytest"]),
        (None, "3.9", ["pytest"]),
        ("lint", "3.8", ["ruff"]),
    ]


def test_single_implicit_job_is_dropped_when_includes_exist() -> None:
    result = build_matrix("python: 3.9\nlanguage: python\nmatrix:\n  include:\n    - python: 3.8\n")
    assert [c["python"] for c in configs(result)] == ["3.8"]


def test_exclude_and_allow_failures_compare_env_without_globals() -> None:
    text = (
        "language: python\npython: [3.8, 3.9]\n"
        "env:\n  global: [G=1]\n  jobs: [DB=pg, DB=my]\n"
        "jobs:\n  exclude:\n    - python: 3.8\n      env: DB=my\n"
        "  allow_failures:\n    - python: 3.9\n      env: DB=pg\n  fast_finish: true\n"
    )
    result = build_matrix(text)
    assert [(c["python"], c["env"], j.allow_failure) for j, c in
            zip(result.jobs, configs(result), strict=True)] == [
        ("3.8", ["G=1", "DB=pg"], False),
        ("3.9", ["G=1", "DB=my"], False),
        ("3.9", ["G=1", "DB=pg"], True),
    ]  # fmt: skip
    assert result.fast_finish is True


def test_root_allow_failures_is_moved_under_jobs_with_a_warning() -> None:
    text = "rvm: [2.7, 3.0]\nallow_failures:\n  - rvm: 3.0\n"
    result = build_matrix(text)
    assert [j.allow_failure for j in result.jobs] == [False, True]
    assert any(m.code == "migrate" and m.line == 2 for m in result.messages)


def test_stages_default_to_test_and_are_inherited_along_includes() -> None:
    text = (
        "script: t\njobs:\n  include:\n    - script: a\n    - stage: Deploy\n      script: b\n"
        "    - script: c\n"
    )
    result = build_matrix(text)
    assert result.stages == ["test", "Deploy"]
    assert [j.stage for j in result.jobs] == ["test", "Deploy", "Deploy"]


def test_stages_section_orders_jobs() -> None:
    text = (
        "stages: [lint, test]\njobs:\n  include:\n    - stage: test\n      name: t\n"
        "    - stage: lint\n      name: l\n"
    )
    result = build_matrix(text)
    assert result.stages == ["lint", "test"]
    assert [(j.number, j.name) for j in result.jobs] == [(1, "l"), (2, "t")]


def test_unsupported_keys_are_dropped_with_a_message() -> None:
    result = build_matrix("language: c\npython: 3.7\n")
    assert "python" not in configs(result)[0]
    assert any(m.code == "unsupported" for m in result.messages)


def test_dist_only_on_linux_and_osx_image_only_on_osx() -> None:
    result = build_matrix("os: [linux, osx]\nosx_image: [xcode12, xcode13]\n")
    assert configs(result) == [
        {"language": "ruby", "os": "linux", "dist": "focal"},
        {"language": "ruby", "os": "osx", "osx_image": "xcode12"},
        {"language": "ruby", "os": "osx", "osx_image": "xcode13"},
    ]


def test_objective_c_defaults_to_osx() -> None:
    assert configs(build_matrix("language: objective-c\n")) == [
        {"language": "objective-c", "os": "osx"}
    ]


def test_syntax_error_is_a_rejection_with_line_and_column() -> None:
    result = build_matrix("language: ruby\nscript: [a\n")
    assert not result.accepted
    assert result.reason and "line" in result.reason
    assert result.messages[0].code == "syntax_error"
    assert result.messages[0].line is not None


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n"])
def test_config_that_is_not_a_mapping_is_an_error(text: str) -> None:
    result = build_matrix(text)
    assert not result.accepted
    assert any(m.level == "error" and m.code == "invalid_config" for m in result.messages)


@pytest.mark.parametrize(
    "text",
    [
        "jobs: 3\n",
        "jobs:\n  include: [1, null, [a]]\n",
        "env: {global: 3, jobs: {secure: x}}\n",
        "stages: [{if: x}]\n",
        "os: [null, {a: b}]\n",
        "python: {a: b}\nlanguage: python\n",
        "script: {a: b}\n",
        "branches: 3\n",
        "\t\x00",
        "? [a, b]\n: c\n",
    ],
)
def test_bad_input_never_raises(text: str) -> None:
    result = build_matrix(text)
    assert isinstance(result, MatrixResult)
    assert not any(m.code == "internal_error" for m in result.messages)


def test_skip_ci_in_commit_message_rejects() -> None:
    result = build_matrix("", {"type": "push", "commit_message": "fix [CI SKIP]"})
    assert not result.accepted
    assert result.jobs == []
    assert "[CI SKIP]" in (result.reason or "")


def test_branch_safelist() -> None:
    text = "branches:\n  only: [main, /^release-.*$/]\n"
    assert build_matrix(text, {"branch": "main"}).accepted
    assert build_matrix(text, {"branch": "release-1"}).accepted
    assert not build_matrix(text, {"branch": "feature"}).accepted
    assert not build_matrix("", {"branch": "gh-pages"}).accepted


def test_too_many_jobs_is_a_rejection() -> None:
    text = "env:\n  jobs: [" + ", ".join(f"A={i}" for i in range(201)) + "]\n"
    result = build_matrix(text)
    assert not result.accepted
    assert any(m.code == "too_many_jobs" for m in result.messages)


def test_to_json_shape() -> None:
    data = build_matrix("language: python\npython: 3.11\nscript: pytest\n").to_json()
    assert set(data) == {"accepted", "reason", "stages", "fast_finish", "jobs", "messages"}
    assert set(data["jobs"][0]) == {"number", "stage", "name", "allow_failure", "config"}
    for message in data["messages"]:
        assert set(message) == {"level", "key", "code", "text"}


def test_message_str() -> None:
    message = Message("warn", "root", "unknown_key", 'unknown key "foo" (bar)')
    assert str(message) == '[warn] on root: unknown key "foo" (bar)'


@needs_conditions
def test_job_if_filters_jobs() -> None:
    text = "jobs:\n  include:\n    - name: a\n    - name: b\n      if: branch = main\n"
    assert [j.name for j in build_matrix(text, {"branch": "main"}).jobs] == ["a", "b"]
    skipped = build_matrix(text, {"branch": "dev"})
    assert [j.name for j in skipped.jobs] == ["a"]
    assert any(m.code == "skip_job" for m in skipped.messages)


@needs_conditions
def test_root_if_false_rejects() -> None:
    result = build_matrix("if: branch = main\n", {"branch": "dev"})
    assert not result.accepted


def test_literal_if_false_needs_no_conditions_module() -> None:
    result = build_matrix("jobs:\n  include:\n    - name: a\n      if: false\n    - name: b\n")
    assert [j.name for j in result.jobs] == ["b"]
