"""The record of the last successful `roundhouse backup`: data_dir/last-backup.json, written
by ops/backup.py when an archive is complete, read by `roundhouse doctor`."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from roundhouse.settings import Settings

RECORD_FILE = "last-backup.json"


@dataclass(frozen=True)
class LastBackup:
    file: str
    finished_at: datetime
    size: int


def record_path(settings: Settings) -> Path:
    return settings.data_dir / RECORD_FILE


def record(settings: Settings, archive: Path, finished_at: datetime) -> None:
    """Write the record, replacing the previous one in one step."""
    path = record_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = LastBackup(str(archive.resolve()), finished_at, archive.stat().st_size)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(asdict(entry), default=datetime.isoformat) + "\n")
    os.replace(partial, path)


def read(settings: Settings) -> LastBackup | None:
    """The record, or None when no backup was recorded (or the record is unreadable)."""
    try:
        data = json.loads(record_path(settings).read_text())
        return LastBackup(
            str(data["file"]), datetime.fromisoformat(data["finished_at"]), int(data["size"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
