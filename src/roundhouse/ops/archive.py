"""The backup archive: a tar.gz of named files and, last, a manifest with their checksums.

Layout (docs/operations.md, "Backups"):

    database/roundhouse.sqlite3   SQLite snapshot (online backup API)        } one of the two
    database/roundhouse.pgdump    pg_dump, custom format                     }
    database/portable.jsonl       every table's rows, for restoring into the other kind
    settings.json                 effective settings, passwords removed (for reference)
    encryption.key                only with --include-key (then the whole file is sealed)
    cache/...                     only with --with-caches
    manifest.json                 versions, database kind, counts, sha256 of every file

The manifest comes last so that files are hashed while they are written: a cache that changes
during the backup still gets the checksum of what went into the archive.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from roundhouse.ops import OpsError

MANIFEST = "manifest.json"
FORMAT = 1
COPY_CHUNK = 1024 * 1024


@dataclass
class Manifest:
    roundhouse_version: str
    alembic_revision: str | None
    database_kind: str  # "sqlite" or "postgresql"
    created_at: str
    counts: dict[str, int]
    key_included: bool = False
    # sha256 of the encryption key, so that restore can tell whether the key at hand fits.
    key_fingerprint: str | None = None
    caches: bool = False
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → sha256, size
    format: int = FORMAT

    @classmethod
    def parse(cls, raw: bytes, archive: Path) -> Manifest:
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise OpsError(
                    f"The archive {archive} has format {data.get('format')!r}, "
                    f"this Roundhouse reads format {FORMAT}; restore it with a matching version."
                )
            return cls(**data)
        except (ValueError, TypeError, AttributeError) as error:
            raise OpsError(f"The manifest of {archive} is not valid ({error}).") from None


class _Hashing:
    """A file object that hashes what is read through it."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file, self.sha256, self.size = file, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data


class ArchiveWriter:
    """Adds files to a new tar.gz and records their checksums for the manifest."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.files: dict[str, dict[str, Any]] = {}

    def __enter__(self) -> ArchiveWriter:
        self.tar = tarfile.open(self.path, "w:gz")
        return self

    def __exit__(self, *exc: object) -> None:
        self.tar.close()

    def add_file(self, name: str, source: Path) -> None:
        info = self.tar.gettarinfo(str(source), arcname=name)
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        with source.open("rb") as file:
            hashing = _Hashing(file)
            self.tar.addfile(info, hashing)
        self.files[name] = {"sha256": hashing.sha256.hexdigest(), "size": hashing.size}

    def add_tree(self, prefix: str, root: Path) -> None:
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                self.add_file(f"{prefix}/{path.relative_to(root).as_posix()}", path)

    def finish(self, manifest: Manifest) -> None:
        manifest.files = self.files
        raw = json.dumps(asdict(manifest), indent=2, sort_keys=True).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode, info.mtime = len(raw), 0o600, int(time.time())
        self.tar.addfile(info, io.BytesIO(raw))


def read(archive: Path, into: Path | None = None) -> Manifest:
    """Check every checksum of an archive (and extract it into `into` when given).

    Raises OpsError with one sentence on the first problem found.
    """
    seen: dict[str, dict[str, Any]] = {}
    manifest_raw: bytes | None = None
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member, file in _members(tar, archive):
                if member.name == MANIFEST:
                    manifest_raw = file.read()
                    continue
                target = _target(into, member.name, archive) if into else None
                seen[member.name] = _copy(file, target)
            # tarfile stops quietly at a damaged header; reading on to the end makes gzip
            # check its CRC, so that damage anywhere is reported, not a "missing" file.
            while tar.fileobj is not None and tar.fileobj.read(COPY_CHUNK):
                pass
    except (tarfile.TarError, EOFError, OSError) as error:
        raise OpsError(
            f"The archive {archive} is damaged: it is not a readable tar.gz ({error})."
        ) from None
    if manifest_raw is None:
        raise OpsError(f"The archive {archive} has no {MANIFEST}; it is not a Roundhouse backup.")
    manifest = Manifest.parse(manifest_raw, archive)
    for name, expected in manifest.files.items():
        found = seen.pop(name, None)
        if found is None:
            raise OpsError(f"The archive {archive} is missing {name}, which its manifest lists.")
        if found != expected:
            raise OpsError(
                f"The archive {archive} is damaged: the checksum of {name} does not match "
                "its manifest."
            )
    if seen:
        raise OpsError(
            f"The archive {archive} holds {min(seen)}, which its manifest does not list."
        )
    return manifest


def _members(tar: tarfile.TarFile, archive: Path) -> Iterator[tuple[tarfile.TarInfo, IO[bytes]]]:
    for member in tar:
        if member.isdir():
            continue
        file = tar.extractfile(member) if member.isfile() else None
        if file is None:
            raise OpsError(f"The archive {archive} holds {member.name}, which is not a file.")
        yield member, file


def _target(into: Path, name: str, archive: Path) -> Path:
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise OpsError(f"The archive {archive} holds the unsafe path {name}; it was not made here.")
    target = into.joinpath(*relative.parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _copy(file: IO[bytes], target: Path | None) -> dict[str, Any]:
    hashing = _Hashing(file)
    out = target.open("wb") if target else None
    try:
        while chunk := hashing.read(COPY_CHUNK):
            if out:
                out.write(chunk)
    finally:
        if out:
            out.close()
    return {"sha256": hashing.sha256.hexdigest(), "size": hashing.size}
