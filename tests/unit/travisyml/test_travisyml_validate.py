"""Validation and normalisation messages: typos, unknown keys, types, conditions, lines."""

from __future__ import annotations

from typing import Any

from roundhouse.travisyml.load import load
from roundhouse.travisyml.messages import Message
from roundhouse.travisyml.normalize import normalize


def run(text: str, defaults: bool = False) -> tuple[dict[str, Any] | None, list[Message]]:
    loaded = load(text)
    config = normalize(loaded.config, loaded.messages, defaults=defaults)
    return config, loaded.messages.items


def codes(messages: list[Message]) -> list[tuple[str, str, str]]:
    return [(m.level, m.key, m.code) for m in messages]


def test_typo_in_a_key_is_repaired_with_a_warning_and_its_line() -> None:
    config, messages = run("language: python\n\npyhton: 3.8\n")
    assert config is not None
    assert config["python"] == ["3.8"]
    (message,) = [m for m in messages if m.code == "find_key"]
    assert str(message) == "[warn] on root: key pyhton is not known, but python is, using python"
    assert message.line == 3


def test_camelcase_and_dashed_keys() -> None:
    config, messages = run("before-script: a\nBeforeInstall: b\n")
    assert config is not None
    assert config["before_script"] == ["a"] and config["before_install"] == ["b"]
    assert [m.code for m in messages] == ["underscore_key", "underscore_key"]


def test_unknown_key_is_kept_with_a_warning() -> None:
    config, messages = run("foo: bar\n")
    assert config == {"foo": "bar"}
    assert str(messages[0]) == '[warn] on root: unknown key "foo" (bar)'
    assert messages[0].line == 1


def test_unknown_language_and_dist() -> None:
    _, messages = run("language: sql\ndist: nope\n")
    assert ("error", "language", "unknown_value") in codes(messages)
    assert ("error", "dist", "unknown_value") in codes(messages)


def test_language_aliases_and_repairs() -> None:
    assert run("language: jvm\n")[0] == {"language": "java"}
    assert run("language: ruby!\n")[0] == {"language": "ruby"}
    assert run("language: JavaScript\n")[0] == {"language": "node_js"}


def test_unsupported_key_for_the_language() -> None:
    _, messages = run("language: ruby\npython: 3.8\n")
    assert ("warn", "python", "unsupported") in codes(messages)


def test_sudo_is_deprecated_and_cast() -> None:
    config, messages = run("sudo: required\n")
    assert config == {"sudo": True}
    assert ("warn", "root", "deprecated_key") in codes(messages)


def test_invalid_condition_is_dropped_with_an_error() -> None:
    config, messages = run("if: '= foo'\njobs:\n  include:\n    - if: 'and true'\n    - name: a\n")
    assert config is not None
    assert "if" not in config
    assert config["jobs"]["include"] == [{"name": "a"}]
    assert ("error", "if", "invalid_condition") in codes(messages)
    assert ("error", "jobs.include.if", "invalid_condition") in codes(messages)


def test_defaults_with_messages() -> None:
    config, messages = run("", defaults=True)
    assert config == {"language": "ruby", "os": ["linux"], "dist": "focal"}
    assert [m.args["key"] for m in messages if m.code == "default"] == ["language", "os", "dist"]


def test_git_cache_and_branches_shapes() -> None:
    text = "git: {depth: '3', submodules: off}\ncache: [pip, vendor]\nbranches: main\n"
    config, _ = run(text)
    assert config is not None
    assert config["git"] == {"depth": 3, "submodules": False}
    assert config["cache"] == {"pip": True, "directories": ["vendor"]}
    assert config["branches"] == {"only": ["main"]}


def test_notifications_shapes_and_secure_alert() -> None:
    text = "notifications:\n  email: a@b.c\n  slack: room\n  on_success: never\n"
    config, messages = run(text)
    assert config is not None
    assert config["notifications"] == {
        "email": [{"recipients": ["a@b.c"], "on_success": "never"}],
        "slack": [{"rooms": ["room"], "on_success": "never"}],
    }
    assert ("alert", "notifications.slack.rooms", "secure") in codes(messages)


def test_deploy_shapes() -> None:
    config, messages = run("deploy:\n  provider: heruko\n  on: main\n")
    assert config is not None
    assert config["deploy"] == [{"provider": "heroku", "on": {"branch": ["main"]}}]
    assert ("warn", "deploy.provider", "find_value") in codes(messages)


def test_matrix_alias_and_env_matrix_alias() -> None:
    config, messages = run("matrix:\n  fast_finish: true\nenv:\n  matrix: [A=1]\n")
    assert config is not None
    assert config["jobs"] == {"fast_finish": True}
    assert config["env"] == {"global": [], "jobs": [["A=1"]]}
    assert ("info", "root", "alias_key") in codes(messages)


def test_messages_on_include_entries_carry_the_entry_line() -> None:
    text = "jobs:\n  include:\n    - name: a\n    - name: b\n      language: sql\n"
    _, messages = run(text)
    (message,) = [m for m in messages if m.code == "unknown_value"]
    assert message.key == "jobs.include.language"
    assert message.line == 5


def test_unknown_key_in_an_include_entry_has_its_line() -> None:
    _, messages = run("jobs:\n  include:\n    - name: a\n    - name: b\n      scirpt: x\n")
    (message,) = [m for m in messages if m.code == "find_key"]
    assert (message.key, message.line) == ("jobs.include", 5)
