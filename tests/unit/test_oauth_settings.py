"""Start-up validation of OAuth applications: a callback URL that is not this platform's
stops start-up with one sentence naming the exact URL to register.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from roundhouse.settings import SettingsError, load


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roundhouse.toml"
    path.write_text(text)
    return path


def test_a_callback_that_does_not_match_public_url_stops_start_up(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        'public_url = "https://ci.example.com"\n'
        "[oauth.github]\n"
        'client_id = "abc"\nclient_secret = "xyz"\n'
        'callback_url = "http://localhost:8080/auth/github/callback"\n',
    )
    with pytest.raises(SettingsError) as raised:
        load(config)
    assert str(raised.value) == (
        "Setting oauth.github.callback_url = 'http://localhost:8080/auth/github/callback' "
        "does not match public_url 'https://ci.example.com': register "
        "https://ci.example.com/auth/github/callback as the callback URL of the github OAuth "
        "application and set oauth.github.callback_url to it (or fix public_url)."
    )


def test_a_missing_callback_or_gitea_address_is_named(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        'public_url = "https://ci.example.com/"\n'
        '[oauth.gitlab]\nclient_id = "a"\nclient_secret = "b"\n',
    )
    with pytest.raises(SettingsError, match=r"register https://ci.example.com/auth/gitlab/callb"):
        load(config)
    gitea = write(
        tmp_path,
        '[oauth.gitea]\nclient_id = "a"\nclient_secret = "b"\n'
        'callback_url = "http://127.0.0.1:8080/auth/gitea/callback"\n',
    )
    with pytest.raises(SettingsError, match=r"Setting oauth\.gitea\.url is missing"):
        load(gitea)


def test_matching_callbacks_load(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        'public_url = "https://ci.example.com"\n'
        '[oauth.github]\nclient_id = "a"\nclient_secret = "b"\n'
        'url = "https://ghe.example.com/"\n'
        'callback_url = "https://ci.example.com/auth/github/callback"\n',
    )
    settings = load(config)
    assert settings.oauth["github"].url == "https://ghe.example.com"
