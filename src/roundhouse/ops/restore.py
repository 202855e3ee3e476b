"""`roundhouse restore` and `roundhouse backup --verify`.

Restore goes into an empty installation only (no repositories): it replaces that database
with the archive's, then migrates it to this version's schema. Same database kind: the native
dump (SQLite file copy, pg_restore). Different kinds (SQLite → PostgreSQL when moving up to
production): the target gets the archive's schema revision from Alembic, then the portable
rows, then the remaining migrations. Either way the restored row counts must equal the
manifest's before restore reports success.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from roundhouse.db.session import alembic_config, migrate, sync_url
from roundhouse.ops import OpsError, archive, databases, portable
from roundhouse.ops.archive import Manifest
from roundhouse.ops.keyfile import KEY_FILE, fingerprint, key_path, read_key
from roundhouse.ops.sealed import is_sealed, unseal
from roundhouse.settings import Settings


@dataclass
class Restored:
    manifest: Manifest
    revision: str | None  # after migrations
    key_written: Path | None = None
    key_moved_to: Path | None = None


@contextmanager
def opened(path: Path, passphrase: str | None, into: Path | None = None) -> Iterator[Manifest]:
    """Verify an archive (unsealing it first if it is encrypted) and extract it into `into`."""
    if not path.is_file():
        raise OpsError(f"The archive {path} does not exist.")
    if not is_sealed(path):
        yield archive.read(path, into)
        return
    if passphrase is None:
        raise OpsError(
            f"The archive {path} is encrypted (it holds the key); give its passphrase with "
            "--passphrase-file."
        )
    # Next to the extraction, not in /tmp: archives with caches can be larger than a tmpfs.
    workdir = into.parent if into else None
    with tempfile.TemporaryDirectory(prefix=".roundhouse-unsealed-", dir=workdir) as tmp:
        plain = Path(tmp) / "archive.tar.gz"
        unseal(path, plain, passphrase)
        yield archive.read(plain, into)


def verify(path: Path, passphrase: str | None) -> Manifest:
    with opened(path, passphrase) as manifest:
        return manifest


def restore(settings: Settings, path: Path, passphrase: str | None) -> Restored:
    with databases.reachable(settings.database_url):
        return _restore(settings, path, passphrase)


def _restore(settings: Settings, path: Path, passphrase: str | None) -> Restored:
    url = settings.database_url
    _refuse_non_empty(url)  # before the archive is read: that can take long
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix=".roundhouse-restore-", dir=settings.data_dir) as tmp,
        opened(path, passphrase, Path(tmp) / "files") as manifest,
    ):
        files = Path(tmp) / "files"
        key = (files / KEY_FILE).read_bytes().strip() if manifest.key_included else None
        if key is None:
            _check_key(settings, manifest)
        database = files / "database"
        if manifest.database_kind != databases.kind(url):
            _restore_portable(url, manifest, database / databases.PORTABLE_FILE)
        elif manifest.database_kind == "sqlite":
            _restore_sqlite(url, database / databases.SQLITE_FILE)
        else:
            _restore_postgres(url, database / databases.PGDUMP_FILE)
        migrate(url)
        revision = _check_counts(url, manifest)
        restored = Restored(manifest, revision)
        if key is not None:
            restored.key_written, restored.key_moved_to = _install_key(settings, key)
        if (files / "cache").is_dir():
            shutil.copytree(files / "cache", settings.data_dir / "cache", dirs_exist_ok=True)
    return restored


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _refuse_non_empty(url: str) -> None:
    if databases.kind(url) == "sqlite":
        databases.sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            count = databases.repository_count(connection)
    finally:
        engine.dispose()
    if count:
        raise OpsError(
            f"The database {_shown(url)} already has {count} repositories; restore only into an "
            "empty installation (a new database or data_dir)."
        )


def _check_key(settings: Settings, manifest: Manifest) -> None:
    """An archive without the key needs the installation's key to be the one it was made with."""
    expected = manifest.key_fingerprint
    if expected is None:
        return
    key = read_key(settings)
    if key is None:
        raise OpsError(
            f"The archive's secrets are encrypted with key {expected}, which is not here: put it "
            f"at {key_path(settings)} (from `roundhouse key export` on the old installation)."
        )
    if fingerprint(key) != expected:
        raise OpsError(
            f"The encryption key here ({fingerprint(key)}) is not the archive's key ({expected}); "
            f"put the old installation's key at {key_path(settings)}."
        )


def _restore_sqlite(url: str, source: Path) -> None:
    target = databases.sqlite_path(url)
    for stale in (Path(f"{target}-wal"), Path(f"{target}-shm")):
        stale.unlink(missing_ok=True)  # they belong to the file being replaced
    shutil.move(source, target)


def _restore_postgres(url: str, source: Path) -> None:
    _drop_everything(url)
    databases.run_tool(
        "pg_restore",
        url,
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        str(source),
    )


def _restore_portable(url: str, manifest: Manifest, rows: Path) -> None:
    _drop_everything(url)
    if manifest.alembic_revision is not None:
        command.upgrade(alembic_config(url), manifest.alembic_revision)
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as connection:
            portable.load(connection, rows)
    except (ValueError, KeyError) as error:
        raise OpsError(f"The portable dump does not fit the database schema ({error}).") from None
    finally:
        engine.dispose()


def _drop_everything(url: str) -> None:
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as connection:
            databases.drop_everything(connection)
    finally:
        engine.dispose()


def _check_counts(url: str, manifest: Manifest) -> str | None:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            revision, counts = databases.describe(connection)
    finally:
        engine.dispose()
    for name, expected in manifest.counts.items():
        if counts.get(name) != expected:
            raise OpsError(
                f"The restored database has {counts.get(name, 0)} {name}, the archive "
                f"{expected}; the restore is incomplete."
            )
    return revision


def _install_key(settings: Settings, key: bytes) -> tuple[Path, Path | None]:
    """Write the archive's key; a different key already there is kept beside it, not lost."""
    path = key_path(settings)
    moved = None
    if path.is_file() and path.read_bytes().strip() != key:
        moved = path.with_name(path.name + ".before-restore")
        path.replace(moved)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_bytes(key + b"\n")
    return path, moved
