"""Passphrase-sealed archives: round trip, wrong passphrase, truncation, damage."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from roundhouse.ops import OpsError, sealed


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    path = tmp_path / "plain"
    path.write_bytes(os.urandom(sealed.CHUNK * 2 + 123))  # three chunks
    return path


def test_round_trip(plain: Path, tmp_path: Path) -> None:
    sealed.seal(plain, tmp_path / "sealed", "pass phrase")
    assert sealed.is_sealed(tmp_path / "sealed")
    assert not sealed.is_sealed(plain)
    sealed.unseal(tmp_path / "sealed", tmp_path / "opened", "pass phrase")
    assert (tmp_path / "opened").read_bytes() == plain.read_bytes()


def test_wrong_passphrase(plain: Path, tmp_path: Path) -> None:
    sealed.seal(plain, tmp_path / "sealed", "right")
    with pytest.raises(OpsError, match="The passphrase does not open the encrypted archive"):
        sealed.unseal(tmp_path / "sealed", tmp_path / "opened", "wrong")


def test_a_missing_last_chunk_is_truncation(plain: Path, tmp_path: Path) -> None:
    sealed.seal(plain, tmp_path / "sealed", "right")
    data = (tmp_path / "sealed").read_bytes()
    last_chunk = 4 + 123 + 16  # length prefix, data, GCM tag
    (tmp_path / "sealed").write_bytes(data[:-last_chunk])
    with pytest.raises(OpsError, match="is truncated"):
        sealed.unseal(tmp_path / "sealed", tmp_path / "opened", "right")


def test_a_changed_byte_is_damage(plain: Path, tmp_path: Path) -> None:
    sealed.seal(plain, tmp_path / "sealed", "right")
    data = bytearray((tmp_path / "sealed").read_bytes())
    data[-50] ^= 1
    (tmp_path / "sealed").write_bytes(bytes(data))
    with pytest.raises(OpsError, match=r"is damaged \(part 3 does not verify\)"):
        sealed.unseal(tmp_path / "sealed", tmp_path / "opened", "right")
