"""Passphrase encryption of a whole archive file (used when a backup holds the key).

The file is cut into chunks, each sealed with AES-256-GCM under a key derived from the
passphrase with scrypt. Each chunk's nonce carries its index and a "last chunk" flag, so that
reordered, dropped or truncated chunks fail to open instead of producing a shorter archive.
Chunks keep memory flat however large the archive (caches can be gigabytes).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from roundhouse.ops import OpsError

MAGIC = b"ROUNDHOUSE-SEALED-1\n"
CHUNK = 1024 * 1024
# scrypt cost: about 0.1 s and 16 MiB on a current machine; stored in the header so that a
# later version can raise it and still open older archives.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
HEADER = struct.Struct(">IIB16s7s")  # n, r, p, salt, nonce prefix


def is_sealed(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(len(MAGIC)) == MAGIC


def _key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> AESGCM:
    derived = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())
    return AESGCM(derived)


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">I?", index, last)


def seal(source: Path, target: Path, passphrase: str) -> None:
    """Write source, encrypted with passphrase, to target."""
    salt, prefix = os.urandom(16), os.urandom(7)
    aead = _key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    with source.open("rb") as plain, target.open("wb") as out:
        out.write(MAGIC + HEADER.pack(SCRYPT_N, SCRYPT_R, SCRYPT_P, salt, prefix))
        index, chunk = 0, plain.read(CHUNK)
        while True:
            following = plain.read(CHUNK)
            sealed = aead.encrypt(_nonce(prefix, index, not following), chunk, MAGIC)
            out.write(struct.pack(">I", len(sealed)) + sealed)
            if not following:
                return
            index, chunk = index + 1, following


def unseal(source: Path, target: Path, passphrase: str) -> None:
    """Decrypt source into target, or raise OpsError saying why it cannot be opened."""
    with source.open("rb") as sealed, target.open("wb") as out:
        sealed.read(len(MAGIC))
        header = sealed.read(HEADER.size)
        if len(header) != HEADER.size:
            raise OpsError(f"The encrypted archive {source} is truncated (its header is cut off).")
        n, r, p, salt, prefix = HEADER.unpack(header)
        aead = _key(passphrase, salt, n, r, p)
        index, chunk = 0, _read_chunk(sealed, source)
        if chunk is None:
            raise OpsError(f"The encrypted archive {source} is truncated (it holds no data).")
        while chunk is not None:
            following = _read_chunk(sealed, source)
            last = following is None
            try:
                out.write(aead.decrypt(_nonce(prefix, index, last), chunk, MAGIC))
            except InvalidTag:
                raise OpsError(_why_not(aead, prefix, index, last, chunk, source)) from None
            index, chunk = index + 1, following


def _why_not(
    aead: AESGCM, prefix: bytes, index: int, last: bool, chunk: bytes, source: Path
) -> str:
    """A chunk that opens when not taken as the last one means chunks are missing after it."""
    try:
        aead.decrypt(_nonce(prefix, index, not last), chunk, MAGIC)
    except InvalidTag:
        if index == 0:
            return f"The passphrase does not open the encrypted archive {source}."
        return f"The encrypted archive {source} is damaged (part {index + 1} does not verify)."
    return f"The encrypted archive {source} is truncated (its end is missing)."


def _read_chunk(file: BinaryIO, source: Path) -> bytes | None:
    size = file.read(4)
    if len(size) < 4:
        return None
    (length,) = struct.unpack(">I", size)
    chunk = file.read(length)
    if len(chunk) != length:
        raise OpsError(f"The encrypted archive {source} is truncated (a chunk is cut off).")
    return chunk
