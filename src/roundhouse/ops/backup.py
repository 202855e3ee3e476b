"""`roundhouse backup`: one archive of a running installation (docs/operations.md, "Backups").

The archive is written under a temporary name next to FILE and renamed at the end, so a
backup that fails halfway never leaves something that looks like a good archive.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from roundhouse import __version__
from roundhouse.ops import OpsError, databases, lastbackup
from roundhouse.ops.archive import ArchiveWriter, Manifest
from roundhouse.ops.keyfile import KEY_FILE, fingerprint, key_path, read_key
from roundhouse.ops.sealed import seal
from roundhouse.settings import Settings

# Settings whose values are credentials: left out of the archive's settings.json.
SECRET_SETTINGS = {"token", "encryption_key"}


def backup(
    settings: Settings, target: Path, *, with_caches: bool = False, passphrase: str | None = None
) -> Manifest:
    """Write the archive; with a passphrase it includes the key and is sealed with it."""
    if target.exists():
        raise OpsError(f"{target} already exists; give the backup a new file name.")
    if not target.parent.is_dir():
        raise OpsError(f"The directory {target.parent} does not exist; create it first.")
    key = read_key(settings)
    if passphrase is not None and key is None:
        raise OpsError(
            f"There is no encryption key to include: none is configured and {key_path(settings)} "
            "does not exist."
        )
    with tempfile.TemporaryDirectory(prefix=".roundhouse-backup-", dir=target.parent) as tmp:
        staging = Path(tmp)
        with databases.reachable(settings.database_url):
            snap = databases.snapshot(settings.database_url, staging)
        manifest = Manifest(
            roundhouse_version=__version__,
            alembic_revision=snap.revision,
            database_kind=databases.kind(settings.database_url),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            counts=snap.counts,
            key_included=passphrase is not None,
            key_fingerprint=fingerprint(key) if key else None,
            caches=with_caches,
        )
        plain = staging / "archive.tar.gz"
        with ArchiveWriter(plain) as writer:
            writer.add_file(f"database/{snap.native.name}", snap.native)
            writer.add_file(f"database/{snap.portable.name}", snap.portable)
            writer.add_file("settings.json", _settings_file(settings, staging))
            if passphrase is not None and key is not None:
                key_copy = staging / KEY_FILE
                key_copy.write_bytes(key + b"\n")
                writer.add_file(KEY_FILE, key_copy)
            cache = settings.data_dir / "cache"
            if with_caches and cache.is_dir():
                writer.add_tree("cache", cache)
            writer.finish(manifest)
        written = plain
        if passphrase is not None:
            written = staging / "archive.sealed"
            seal(plain, written, passphrase)
        written.chmod(0o600)  # token hashes and encrypted secrets: for the operator only
        os.replace(written, target)
    try:
        lastbackup.record(settings, target, datetime.now(UTC))
    except OSError as error:
        raise OpsError(
            f"The backup {target} is complete, but its record for `roundhouse doctor` in "
            f"{lastbackup.record_path(settings)} cannot be written ({error.strerror})."
        ) from None
    return manifest


def _settings_file(settings: Settings, staging: Path) -> Path:
    """The effective settings, for reference when rebuilding a machine; no credentials."""
    values: dict[str, Any] = {}
    for name, value in settings.model_dump(mode="json").items():
        if name in SECRET_SETTINGS:
            continue
        values[name] = _without_password(value) if isinstance(value, str) else value
    path = staging / "settings.json"
    path.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
    return path


def _without_password(value: str) -> str:
    if "://" not in value or "@" not in value:
        return value
    parts = urlsplit(value)
    if parts.password is None:
        return value
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
