"""Secrets at rest: the instance key ring from the setting or its file (made 0600 on first
start), AES-GCM round trips, values of earlier versions (Fernet, plain), a ring of several keys,
and a wrong or malformed key named as such without showing it.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from roundhouse.platform.secrets import (
    AtRest,
    SecretsError,
    encryption_key,
    generate_key,
    key_file,
    key_id,
    write_key_file,
)
from roundhouse.settings import Settings, SettingsError


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", **values)  # type: ignore[arg-type]


def test_the_first_start_makes_a_key_file_readable_by_its_owner_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = settings(tmp_path)
    at_rest = AtRest.from_settings(config)

    path = tmp_path / "data" / "encryption.key"
    assert key_file(config) == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert AtRest(path.read_text()).key_id == at_rest.key_id
    # Later starts read the same key; nothing secret was printed on the way.
    assert AtRest.from_settings(config).key_id == at_rest.key_id
    assert capsys.readouterr() == ("", "")


def test_values_go_round_trip_and_are_stored_with_the_key_id(tmp_path: Path) -> None:
    at_rest = AtRest.from_settings(settings(tmp_path))
    stored = at_rest.encrypt(b"-----BEGIN PRIVATE KEY-----\n...")

    assert stored.startswith(f"v1:{at_rest.key_id}:")
    assert at_rest.is_current(stored)
    assert b"PRIVATE" not in stored.encode()
    assert at_rest.decrypt(stored) == b"-----BEGIN PRIVATE KEY-----\n..."


def test_the_setting_wins_over_the_file_and_no_file_is_made(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    config = settings(tmp_path, encryption_key=key)

    assert encryption_key(config, create=True) == key
    assert not key_file(config).exists()
    assert key not in repr(config)  # a SecretStr: settings dumps do not show it


def test_an_explicit_key_file_is_used(tmp_path: Path) -> None:
    path = tmp_path / "secret" / "roundhouse.key"
    config = settings(tmp_path, encryption_key_file=path)

    made = encryption_key(config, create=True)
    assert path.read_text().strip() == made
    assert not (tmp_path / "data" / "encryption.key").exists()


def test_a_wrong_key_is_named_with_both_key_ids(tmp_path: Path) -> None:
    old = AtRest(Fernet.generate_key())
    new = AtRest(Fernet.generate_key())
    stored = old.encrypt(b"secret")

    with pytest.raises(SecretsError) as caught:
        new.decrypt(stored)
    text = str(caught.value)
    assert "encryption key does not match this database" in text
    assert f"key id {new.key_id}, database expects {old.key_id})" in text
    assert "encryption_key" in text


def test_a_damaged_value_says_so(tmp_path: Path) -> None:
    at_rest = AtRest(Fernet.generate_key())
    stored = at_rest.encrypt(b"secret")

    with pytest.raises(SecretsError, match="damaged, or encryption_key was edited"):
        at_rest.decrypt(stored[:-8] + "AAAAAAAA")
    with pytest.raises(SecretsError, match="not in the form"):
        at_rest.decrypt("no key id here")


def test_a_malformed_key_is_refused_without_showing_it(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        encryption_key(settings(tmp_path, encryption_key="not-a-fernet-key"))
    assert "encryption_key is not valid" in str(caught.value)
    assert "not-a-fernet-key" not in str(caught.value)

    path = tmp_path / "broken.key"
    path.write_text("short\n")
    with pytest.raises(SettingsError, match=r"broken\.key \(encryption_key_file\) is not valid"):
        encryption_key(settings(tmp_path, encryption_key_file=path))


def test_export_does_not_make_a_key(tmp_path: Path) -> None:
    config = settings(tmp_path)
    with pytest.raises(SettingsError, match="There is no encryption key"):
        encryption_key(config)
    assert not key_file(config).exists()

    made = encryption_key(config, create=True)
    assert encryption_key(config) == made


def test_values_written_by_earlier_versions_still_decrypt() -> None:
    key = Fernet.generate_key().decode()
    legacy = f"{key_id(key)}:{Fernet(key.encode()).encrypt(b'old secret').decode()}"
    at_rest = AtRest(key)

    assert at_rest.decrypt(legacy) == b"old secret"
    assert at_rest.decrypt("plain:t0ken") == b"t0ken"
    assert not at_rest.is_current(legacy)
    # The same key makes AES-GCM values of its own, with a key derived from it.
    assert at_rest.encrypt(b"new").startswith(f"v1:{key_id(key)}:")


def test_a_ring_encrypts_with_its_first_key_and_decrypts_with_any() -> None:
    old, new = generate_key(), generate_key()
    before = AtRest(old).encrypt(b"before")
    ring = AtRest(f"{new}, {old}")

    assert ring.key_id == key_id(new) and ring.key_ids == [key_id(new), key_id(old)]
    assert ring.decrypt(before) == b"before"
    assert ring.encrypt(b"after").startswith(f"v1:{key_id(new)}:")


def test_a_value_relabelled_with_another_key_id_is_refused() -> None:
    first, second = generate_key(), generate_key()
    ring = AtRest([first, second])
    stored = ring.encrypt(b"secret")

    relabelled = stored.replace(key_id(first), key_id(second), 1)
    with pytest.raises(SecretsError, match="damaged"):
        ring.decrypt(relabelled)


def test_a_running_platform_follows_a_rotated_key_file(tmp_path: Path) -> None:
    config = settings(tmp_path)
    running = AtRest.from_settings(config)
    old_value = running.encrypt(b"old")

    new = generate_key()
    write_key_file(key_file(config), [new])
    rotated = AtRest([new]).encrypt(b"rotated")

    assert running.decrypt(rotated) == b"rotated"
    assert running.encrypt(b"x").startswith(f"v1:{key_id(new)}:")
    with pytest.raises(SecretsError, match="does not match this database"):
        running.decrypt(old_value)
    assert stat.S_IMODE(key_file(config).stat().st_mode) == 0o600
