"""Secrets at rest: everything secret the database holds is encrypted with the instance key.

The instance key is a key ring: one or more keys of 32 random bytes (44 characters of URL-safe
base64 each), the current key first, given as the setting `encryption_key` or read from
`encryption_key_file` (by default `<data_dir>/encryption.key`, one key per line, created with
mode 0600 on the first start when neither is given). Older keys are on the ring only while
`roundhouse key rotate` re-encrypts the database (platform/rekey.py). Losing the key loses
every secret in the database: `roundhouse key export` prints it for a backup.

A stored value names its format and key, so a wrong key is named as such and a rotation can
tell old values from new ones:
- `v1:<key id>:<base64 of nonce + ciphertext>`: AES-256-GCM (`cryptography`'s AESGCM) with a
  key derived from the ring's key by HKDF-SHA256; what this version writes;
- `<key id>:<Fernet token>`: written by earlier versions with the same key; still read;
- `plain:<text>`: a value an earlier version kept in plain text, marked by migration 0008;
  start-up encrypts these (`seal_plain_values` in platform/rekey.py).
The key id is the first 8 hex digits of the SHA-256 of the key's text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from roundhouse.settings import Settings, SettingsError

KEY_FILE_NAME = "encryption.key"
FORMAT = "v1"
PLAIN = "plain:"
NONCE_BYTES = 12
# HKDF's `info`: the AES key of a ring key is its own, never the Fernet keys of the same bytes.
AES_INFO = b"roundhouse secrets at rest v1 aes-256-gcm"
LEGACY = re.compile(r"^[0-9a-f]{8}:")
FIX = (
    "set encryption_key (or encryption_key_file) to the key this installation was created with,"
    " from `roundhouse key export` or a backup (docs/operations.md, Encryption key)"
)


class SecretsError(Exception):
    """A stored secret cannot be decrypted; the text names the setting to fix."""


def mismatch(have: str, expected: str) -> str:
    """The one sentence for a key that is not the database's (start-up and first use)."""
    return (
        f"the encryption key does not match this database (key id {have}, database expects"
        f" {expected}): {FIX}"
    )


def key_file(settings: Settings) -> Path:
    return settings.encryption_key_file or settings.data_dir / KEY_FILE_NAME


def generate_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def key_id(key: str | bytes) -> str:
    data = key.encode() if isinstance(key, str) else key
    return hashlib.sha256(data.strip()).hexdigest()[:8]


def parse_ring(text: str, source: str) -> list[str]:
    """The keys of a ring's text (separated by new lines, spaces or commas), current first;
    SettingsError (without the key's text) when there is none or one is malformed."""
    keys = [part for part in re.split(r"[\s,]+", text) if part]
    for number, key in enumerate(keys, 1):
        try:
            raw = base64.urlsafe_b64decode(key.encode())
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32 or len(key) != 44:
            raise SettingsError(
                f"The encryption key from {source} is not valid (key {number} of {len(keys)}):"
                " expected keys of 44 characters of URL-safe base64, one per line, the current"
                " one first. Give the key this installation was started with (from `roundhouse"
                " key export` or your backup); a new installation makes its own on first start."
            )
    if not keys:
        raise SettingsError(f"The encryption key from {source} is empty; {FIX}.")
    return keys


def encryption_key(settings: Settings, *, create: bool = False) -> str:
    """The instance key ring as text, one key per line: the setting, else the key file (made
    first when `create`). `roundhouse key export` must not create a key: it passes
    create=False and gets SettingsError when there is none."""
    given = settings.encryption_key.get_secret_value()
    if given:
        return "\n".join(parse_ring(given, "the setting encryption_key"))
    path = key_file(settings)
    if not path.exists():
        if not create:
            raise SettingsError(
                f"There is no encryption key: neither the setting encryption_key nor the file"
                f" {path} (encryption_key_file) exists. Start the platform once to create it."
            )
        _create_key_file(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise SettingsError(
            f"The encryption key file {path} (encryption_key_file) cannot be read"
            f" ({error.strerror or error}); give the platform's user read access to it."
        ) from None
    return "\n".join(parse_ring(text, f"the file {path} (encryption_key_file)"))


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two platform processes starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(generate_key() + "\n")


def write_key_file(path: Path, keys: Sequence[str]) -> None:
    """Replace the key file with `keys` (current first) at once: a crash leaves the old or the
    new ring, never half of one."""
    staging = path.with_name(f".{path.name}.{os.getpid()}.new")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("".join(f"{key}\n" for key in keys))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, path)


class AtRest:
    """Encrypts with the ring's current key and decrypts with any key on the ring.

    Made from settings with a key file, it reads the file again when the file changed, so a
    running platform follows `roundhouse key rotate` on the same machine.
    """

    def __init__(self, keys: str | bytes | Sequence[str], *, path: Path | None = None) -> None:
        self.path = path
        self._stamp = self._file_stamp()
        self._load(keys)

    def _load(self, keys: str | bytes | Sequence[str]) -> None:
        if isinstance(keys, bytes):
            keys = keys.decode()
        ring = parse_ring(keys, "the key ring") if isinstance(keys, str) else list(keys)
        self.keys = ring
        self.key_id = key_id(ring[0])
        self._aes = {key_id(k): AESGCM(_aes_key(k)) for k in ring}
        self._fernet = {key_id(k): Fernet(k.encode()) for k in ring}

    def derive(self, purpose: str) -> bytes:
        """A key for another use (e.g. signing session cookies), made from the instance key so
        that every platform process has the same one, and independent of it."""
        return hmac.new(self.keys[0].encode(), purpose.encode(), hashlib.sha256).digest()

    @classmethod
    def from_settings(cls, settings: Settings) -> AtRest:
        text = encryption_key(settings, create=True)
        inline = bool(settings.encryption_key.get_secret_value())
        return cls(text, path=None if inline else key_file(settings))

    @property
    def key_ids(self) -> list[str]:
        return list(self._aes)

    def _file_stamp(self) -> tuple[int, int, int] | None:
        if self.path is None:
            return None
        try:
            found = self.path.stat()
        except OSError:
            return None
        return (found.st_ino, found.st_mtime_ns, found.st_size)

    def refresh(self) -> None:
        """Read the key file again if it changed since it was read."""
        stamp = self._file_stamp()
        if self.path is None or stamp is None or stamp == self._stamp:
            return
        self._load(self.path.read_text())
        self._stamp = stamp

    def encrypt(self, plain: bytes) -> str:
        self.refresh()
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aes[self.key_id].encrypt(nonce, plain, _aad(self.key_id))
        return f"{FORMAT}:{self.key_id}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str) -> bytes:
        if stored.startswith(PLAIN):
            return stored[len(PLAIN) :].encode()
        found_id = stored_key_id(stored)
        if found_id is None:
            raise SecretsError("a stored secret is not in the form v1:<key id>:<ciphertext>")
        if found_id not in self._aes:
            self.refresh()
        if found_id not in self._aes:
            raise SecretsError(mismatch(self.key_id, found_id))
        try:
            if stored.startswith(f"{FORMAT}:"):
                data = base64.b64decode(stored.split(":", 2)[2], validate=True)
                nonce, sealed = data[:NONCE_BYTES], data[NONCE_BYTES:]
                return self._aes[found_id].decrypt(nonce, sealed, _aad(found_id))
            return self._fernet[found_id].decrypt(stored.partition(":")[2].encode())
        except (InvalidTag, InvalidToken, binascii.Error, ValueError):
            raise SecretsError(
                f"a stored secret cannot be decrypted with the key {found_id} although its id"
                " matches: the value is damaged, or encryption_key was edited"
            ) from None

    def seal(self, value: str | None) -> str | None:
        """A text setting as stored: encrypted, or None for no value (None or "")."""
        return self.encrypt(value.encode()) if value else None

    def open(self, stored: str | None) -> str | None:
        return None if stored is None else self.decrypt(stored).decode()

    def is_current(self, stored: str) -> bool:
        """Whether `stored` is in this version's format under the current key."""
        return stored.startswith(f"{FORMAT}:{self.key_id}:")


def stored_key_id(stored: str) -> str | None:
    """The id of the key a stored value was encrypted with (None: plain or not a secret)."""
    if stored.startswith(f"{FORMAT}:"):
        found = stored.split(":", 2)[1]
        return found if re.fullmatch(r"[0-9a-f]{8}", found) else None
    return stored[:8] if LEGACY.match(stored) else None


def _aes_key(key: str) -> bytes:
    raw = base64.urlsafe_b64decode(key.encode())
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=AES_INFO).derive(raw)


def _aad(found_id: str) -> bytes:
    # Binds the ciphertext to its header: a value cannot be relabelled with another key id.
    return f"{FORMAT}:{found_id}".encode()
