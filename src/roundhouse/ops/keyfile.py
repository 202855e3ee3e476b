"""Where backup and restore find the instance encryption key.

The key is the `encryption_key` setting when that is given, else the file named by
`encryption_key_file`, else `data_dir/encryption.key`. getattr keeps this module working with
settings that do not have those fields (they arrive with at-rest encryption); only the
fingerprint of the key ever goes into an archive unless --include-key is given.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import SecretStr

from roundhouse.settings import Settings

KEY_FILE = "encryption.key"


def key_path(settings: Settings) -> Path:
    configured = getattr(settings, "encryption_key_file", None)
    return Path(configured) if configured else settings.data_dir / KEY_FILE


def read_key(settings: Settings) -> bytes | None:
    inline = getattr(settings, "encryption_key", None)
    if isinstance(inline, SecretStr):  # str() of a SecretStr is asterisks
        inline = inline.get_secret_value()
    if inline:
        return str(inline).strip().encode()
    path = key_path(settings)
    return path.read_bytes().strip() if path.is_file() else None


def fingerprint(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]
