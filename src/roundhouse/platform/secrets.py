"""Secrets at rest: everything secret the database holds is encrypted with the instance key.

The instance key is a Fernet key (AES-128-CBC with an HMAC-SHA256, from `cryptography`),
given as the setting `encryption_key` or read from `encryption_key_file` (by default
`<data_dir>/encryption.key`, created with mode 0600 on the first start when neither is given).
Losing the key loses every secret in the database: `roundhouse key export` prints it for a
backup (`encryption_key()` below).

A stored value is `<key id>:<Fernet token>`. The key id (the first 8 hex digits of the key's
SHA-256) says which key encrypted a value, so a wrong key is named as such instead of failing
as an anonymous "invalid token", and a later key rotation can tell old values from new ones.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from roundhouse.settings import Settings, SettingsError

KEY_FILE_NAME = "encryption.key"


class SecretsError(Exception):
    """A stored secret cannot be decrypted; the text names the setting to fix."""


def key_file(settings: Settings) -> Path:
    return settings.encryption_key_file or settings.data_dir / KEY_FILE_NAME


def _parse(key: str, source: str) -> bytes:
    """The key as Fernet wants it; SettingsError (without the key's text) when malformed."""
    data = key.strip().encode()
    try:
        Fernet(data)
    except ValueError:
        raise SettingsError(
            f"The encryption key from {source} is not valid: expected a Fernet key (44"
            " characters of URL-safe base64). Give the key this installation was started with"
            " (from your backup); a new installation can use one made by `python -c 'from"
            " cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
        ) from None
    return data


def encryption_key(settings: Settings, *, create: bool = False) -> str:
    """The instance key as text: the setting, else the key file (made first when `create`).

    For `roundhouse key export`, which must not create a key: it passes create=False and gets
    SettingsError when there is none.
    """
    given = settings.encryption_key.get_secret_value()
    if given:
        return _parse(given, "the setting encryption_key").decode()
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
    return _parse(text, f"the file {path} (encryption_key_file)").decode()


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two platform processes starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(Fernet.generate_key().decode() + "\n")


def key_id(key: str | bytes) -> str:
    data = key.encode() if isinstance(key, str) else key
    return hashlib.sha256(data.strip()).hexdigest()[:8]


class AtRest:
    """Encrypts and decrypts the secrets of one installation with its instance key."""

    def __init__(self, key: str | bytes) -> None:
        data = key.encode() if isinstance(key, str) else key
        self._fernet = Fernet(data.strip())
        self._key = data.strip()
        self.key_id = key_id(data)

    def derive(self, purpose: str) -> bytes:
        """A key for another use (e.g. signing session cookies), made from the instance key so
        that every platform process has the same one, and independent of it."""
        return hmac.new(self._key, purpose.encode(), hashlib.sha256).digest()

    @classmethod
    def from_settings(cls, settings: Settings) -> AtRest:
        return cls(encryption_key(settings, create=True))

    def encrypt(self, plain: bytes) -> str:
        return f"{self.key_id}:{self._fernet.encrypt(plain).decode()}"

    def decrypt(self, stored: str) -> bytes:
        found_id, sep, token = stored.partition(":")
        if not sep:
            raise SecretsError("a stored secret is not in the form <key id>:<token>")
        if found_id != self.key_id:
            raise SecretsError(
                f"the encryption key does not match this database (key id {self.key_id},"
                f" the database expects {found_id}): set encryption_key (or"
                " encryption_key_file) to the key this installation was created with"
            )
        try:
            return self._fernet.decrypt(token.encode())
        except InvalidToken:
            raise SecretsError(
                f"a stored secret cannot be decrypted with the key {self.key_id} although its"
                " id matches: the value is damaged, or encryption_key was edited"
            ) from None
