"""Settings: defaults < TOML file < ROUNDHOUSE_* environment, and one clear sentence for every
kind of mistake (the setting, the value, what was expected, how to fix it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from roundhouse import settings
from roundhouse.settings import SettingsError, load, read_defaults_file

ROUNDHOUSE = Path(sys.executable).parent / "roundhouse"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ROUNDHOUSE_* variable and no ./roundhouse.toml of the caller leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("ROUNDHOUSE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    # A machine-wide /etc/roundhouse/roundhouse.toml must not change what these tests see.
    monkeypatch.setattr(settings, "TOML_CANDIDATES", (Path("roundhouse.toml"),))


def toml(tmp_path: Path, text: str, name: str = "settings.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(config: Path | None = None, **overrides: object) -> str:
    with pytest.raises(SettingsError) as caught:
        load(config=config, **overrides)
    message = str(caught.value)
    assert "\n" not in message, "the message is one line"
    assert "Traceback" not in message
    return message


# --- precedence ---------------------------------------------------------------------------


def test_defaults_without_file_or_environment(tmp_path: Path) -> None:
    s = load()

    assert s.listen_host == "127.0.0.1"
    assert s.listen_port == 8080
    assert s.broker_url == "memory://"
    assert s.backend == "local"
    assert s.pool_size == 2
    assert s.default_queue == "builds.default"
    assert s.queues == ["builds.default"]
    assert s.hard_timeout == 50 * 60
    assert s.log_timeout == 10 * 60
    assert s.queue_rules == []
    assert s.public_url == "http://127.0.0.1:8080"
    assert s.database_url.startswith("sqlite:///")
    assert s.database_url.endswith("/.roundhouse/roundhouse.db")
    assert s.work_dir == Path(".roundhouse") / "work"


def test_toml_file_overrides_defaults(tmp_path: Path) -> None:
    config = toml(
        tmp_path,
        'listen_host = "0.0.0.0"\nlisten_port = 9000\npool_size = 4\nbackend = "bwrap"\n'
        'queues = ["builds.a", "builds.b"]\n',
    )

    s = load(config=config)

    assert (s.listen_host, s.listen_port, s.pool_size, s.backend) == ("0.0.0.0", 9000, 4, "bwrap")
    assert s.queues == ["builds.a", "builds.b"]
    assert s.public_url == "http://0.0.0.0:9000"  # derived from the values that won
    assert s.broker_url == "memory://"  # not in the file: the default stays


def test_environment_overrides_toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = toml(tmp_path, 'listen_host = "0.0.0.0"\nlisten_port = 9000\n')
    monkeypatch.setenv("ROUNDHOUSE_LISTEN_PORT", "9100")
    monkeypatch.setenv("ROUNDHOUSE_BACKEND", "docker")

    s = load(config=config)

    assert s.listen_port == 9100
    assert s.backend == "docker"
    assert s.listen_host == "0.0.0.0"  # the file still provides what the environment does not


def test_environment_overrides_defaults_without_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUNDHOUSE_PUBLIC_URL", "https://ci.example.com/")
    monkeypatch.setenv("ROUNDHOUSE_HARD_TIMEOUT", "120")

    s = load()

    assert s.public_url == "https://ci.example.com"
    assert s.hard_timeout == 120


def test_roundhouse_toml_in_the_working_directory_is_read(tmp_path: Path) -> None:
    toml(tmp_path, "listen_port = 9200\n", name="roundhouse.toml")

    assert load().listen_port == 9200


def test_explicit_values_override_file_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the command line passes (`up --port`) beats file and environment."""
    config = toml(tmp_path, "listen_port = 9000\n")
    monkeypatch.setenv("ROUNDHOUSE_LISTEN_PORT", "9100")

    assert load(config=config, listen_port=9300).listen_port == 9300
    assert load(config=config, listen_port=None).listen_port == 9100  # None: not given


def test_queue_rules_from_toml(tmp_path: Path) -> None:
    config = toml(
        tmp_path,
        '[[queue_rules]]\nqueue = "builds.jammy"\ndist = "jammy"\n\n'
        '[[queue_rules]]\nqueue = "builds.docker"\nservices = "docker"\n',
    )

    rules = load(config=config).queue_rules

    assert [(r.queue, r.dist, r.services) for r in rules] == [
        ("builds.jammy", "jammy", None),
        ("builds.docker", None, "docker"),
    ]


def test_queues_as_comma_separated_string_in_toml(tmp_path: Path) -> None:
    config = toml(tmp_path, 'queues = "builds.a, builds.b"\n')

    assert load(config=config).queues == ["builds.a", "builds.b"]


def test_queues_as_comma_separated_string_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUNDHOUSE_QUEUES", "builds.a,builds.b")

    assert load().queues == ["builds.a", "builds.b"]


# --- each kind of mistake -----------------------------------------------------------------


def test_wrong_type(tmp_path: Path) -> None:
    config = toml(tmp_path, 'listen_port = "abc"\n')

    message = error_of(config)

    assert "listen_port" in message
    assert "'abc'" in message
    assert "integer" in message
    assert str(config) in message
    assert "ROUNDHOUSE_LISTEN_PORT=" in message


@pytest.mark.parametrize(
    ("text", "name", "value", "expectation"),
    [
        ("listen_port = 70000", "listen_port", "70000", "less than or equal to 65535"),
        ("listen_port = 0", "listen_port", "0", "greater than or equal to 1"),
        ("pool_size = 0", "pool_size", "0", "greater than or equal to 1"),
        ("hard_timeout = -5", "hard_timeout", "-5", "greater than 0"),
    ],
)
def test_out_of_range(tmp_path: Path, text: str, name: str, value: str, expectation: str) -> None:
    message = error_of(toml(tmp_path, text + "\n"))

    assert f"{name} = {value}" in message
    assert expectation in message
    assert f"ROUNDHOUSE_{name.upper()}=" in message


def test_bad_enum_lists_the_choices(tmp_path: Path) -> None:
    message = error_of(toml(tmp_path, 'backend = "vm"\n'))

    assert "backend = 'vm'" in message
    for choice in ("'local'", "'bwrap'", "'docker'"):
        assert choice in message
    assert "ROUNDHOUSE_BACKEND=" in message


@pytest.mark.parametrize(
    ("name", "value", "expectation"),
    [
        ("broker_url", "redis://localhost", "amqp://"),
        ("broker_url", "localhost:5672", "memory://"),
        ("database_url", "mysql://db/roundhouse", "postgresql+psycopg://"),
        ("database_url", "mysql://db/roundhouse", "sqlite:///"),
        ("public_url", "ftp://ci.example.com", "https://"),
        ("public_url", "ci.example.com", "http://"),
        ("platform_url", "ci.example.com:8080", "https://"),
    ],
)
def test_bad_url_scheme(tmp_path: Path, name: str, value: str, expectation: str) -> None:
    message = error_of(toml(tmp_path, f'{name} = "{value}"\n'))

    assert f"{name} = {value!r}" in message
    assert expectation in message
    assert f"ROUNDHOUSE_{name.upper()}=" in message


def test_good_url_schemes_are_accepted(tmp_path: Path) -> None:
    config = toml(
        tmp_path,
        'broker_url = "amqp://guest:guest@localhost:5672/"\n'
        'database_url = "postgresql+psycopg://u@localhost/db"\n'
        'public_url = "https://ci.example.com/"\n',
    )

    s = load(config=config)

    assert s.broker_url == "amqp://guest:guest@localhost:5672/"
    assert s.database_url == "postgresql+psycopg://u@localhost/db"
    assert s.public_url == "https://ci.example.com"


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    config = toml(tmp_path, "listen_prt = 9000\n")

    message = error_of(config)

    assert "'listen_prt'" in message
    assert "Did you mean 'listen_port'?" in message
    assert str(config) in message


def test_unknown_key_without_close_match_has_no_suggestion(tmp_path: Path) -> None:
    message = error_of(toml(tmp_path, "zzzzzz = 1\n"))

    assert "'zzzzzz'" in message
    assert "Did you mean" not in message
    assert "Remove it" in message


@pytest.mark.parametrize("text", ["listen_port = \n", "[[[\n", 'listen_host = "unterminated\n'])
def test_malformed_toml(tmp_path: Path, text: str) -> None:
    config = toml(tmp_path, text)

    message = error_of(config)

    assert str(config) in message
    assert "TOML" in message
    assert "line 1" in message  # says where


def test_config_path_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "roundhouse.toml"

    message = error_of(missing)

    assert str(missing) in message
    assert "--config" in message
    assert "does not exist" in message


def test_value_from_environment_is_named_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = toml(tmp_path, "listen_port = 9000\n")
    monkeypatch.setenv("ROUNDHOUSE_LISTEN_PORT", "abc")

    message = error_of(config)

    assert "listen_port = 'abc'" in message
    assert "$ROUNDHOUSE_LISTEN_PORT" in message
    assert str(config) not in message  # the file is not to blame


def test_bad_enum_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUNDHOUSE_BACKEND", "vm")

    message = error_of()

    assert "backend = 'vm'" in message
    assert "$ROUNDHOUSE_BACKEND" in message


def test_bad_explicit_value_is_not_blamed_on_the_file(tmp_path: Path) -> None:
    config = toml(tmp_path, 'listen_host = "0.0.0.0"\n')

    message = error_of(config, listen_port=70000)

    assert "listen_port = 70000" in message
    assert str(config) not in message


def test_queue_rule_without_queue_names_the_missing_key(tmp_path: Path) -> None:
    config = toml(tmp_path, '[[queue_rules]]\ndist = "jammy"\n')

    message = error_of(config)

    assert "queue_rules" in message
    rest = message.replace(str(config), "").replace("queue_rules", "").replace("QUEUE_RULES", "")
    assert "queue" in rest


def test_malformed_structured_value_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUNDHOUSE_IMAGES", "not json")

    message = error_of()

    assert "images" in message
    assert "$ROUNDHOUSE_IMAGES" in message
    assert "None" not in message


# --- /etc/default files -------------------------------------------------------------------


def test_read_defaults_file(tmp_path: Path) -> None:
    path = tmp_path / "roundhouse-worker"
    path.write_text(
        "# Roundhouse worker settings\n"
        "\n"
        "ROUNDHOUSE_PLATFORM_URL=https://ci.example.com\n"
        "export ROUNDHOUSE_TOKEN='s3cret token'\n"
        'export POOL_SIZE="4"\n'
        "  BACKEND = bwrap  \n"
        "   # an indented comment\n"
        "not a setting line\n"
        "QUEUES=builds.a,builds.b\n"
        "EMPTY=\n"
    )

    assert read_defaults_file(path) == {
        "ROUNDHOUSE_PLATFORM_URL": "https://ci.example.com",
        "ROUNDHOUSE_TOKEN": "s3cret token",
        "POOL_SIZE": "4",
        "BACKEND": "bwrap",
        "QUEUES": "builds.a,builds.b",
        "EMPTY": "",
    }


def test_value_with_equals_sign_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "roundhouse-worker"
    path.write_text("ROUNDHOUSE_TOKEN=abc==\n")

    assert read_defaults_file(path) == {"ROUNDHOUSE_TOKEN": "abc=="}


def test_worker_reads_defaults_file_below_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = tmp_path / "roundhouse-worker"
    defaults.write_text(
        "export ROUNDHOUSE_PLATFORM_URL=https://ci.example.com\nPOOL_SIZE=6\nBACKEND=bwrap\n"
    )
    monkeypatch.setattr(settings, "WORKER_DEFAULTS_FILE", defaults)
    # load() writes what the file says into os.environ: make monkeypatch restore those names.
    for name in ("ROUNDHOUSE_PLATFORM_URL", "ROUNDHOUSE_POOL_SIZE", "ROUNDHOUSE_BACKEND"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("ROUNDHOUSE_BACKEND", "docker")

    s = load(worker=True)

    assert s.platform_url == "https://ci.example.com"
    assert s.pool_size == 6
    assert s.backend == "docker"  # the environment wins over the defaults file


def test_the_example_worker_defaults_file_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).parents[2] / "deploy" / "systemd" / "roundhouse-worker.default"
    monkeypatch.setattr(settings, "WORKER_DEFAULTS_FILE", example)
    for name in read_defaults_file(example):
        monkeypatch.setenv(f"ROUNDHOUSE_{name}", "")
        monkeypatch.delenv(f"ROUNDHOUSE_{name}")

    s = load(worker=True)

    assert (s.backend, s.pool_size, s.queues) == ("bwrap", 4, ["builds.default"])
    assert s.broker_url.startswith("amqp://") and s.token == "rhw_REPLACE_ME"


# --- the CLI ------------------------------------------------------------------------------


def run_up(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ROUNDHOUSE_")}
    return subprocess.run(
        [str(ROUNDHOUSE), "up", "--data-dir", str(cwd / "data"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("roundhouse: ")
    return lines[0]


def test_cli_up_with_bad_toml_value_stops_with_one_line(tmp_path: Path) -> None:
    config = toml(tmp_path, 'listen_port = "abc"\n')

    line = assert_one_line_error(run_up("--config", str(config), cwd=tmp_path))

    assert "listen_port = 'abc'" in line
    assert "ROUNDHOUSE_LISTEN_PORT" in line
    assert not (tmp_path / "data").exists()  # stopped before touching anything


def test_cli_up_with_malformed_toml_stops_with_one_line(tmp_path: Path) -> None:
    config = toml(tmp_path, "[[[\n")

    line = assert_one_line_error(run_up("--config", str(config), cwd=tmp_path))

    assert "TOML" in line


def test_cli_up_with_missing_config_stops_with_one_line(tmp_path: Path) -> None:
    line = assert_one_line_error(run_up("--config", str(tmp_path / "nope.toml"), cwd=tmp_path))

    assert "nope.toml" in line


def test_cli_up_with_port_out_of_range_stops_with_one_line(tmp_path: Path) -> None:
    line = assert_one_line_error(run_up("--port", "70000", cwd=tmp_path))

    assert "listen_port = 70000" in line


def test_cli_up_with_port_not_a_number_stops_with_one_line(tmp_path: Path) -> None:
    line = assert_one_line_error(run_up("--port", "abc", cwd=tmp_path))

    assert "abc" in line
