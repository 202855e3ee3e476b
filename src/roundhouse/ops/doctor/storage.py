"""Storage checks: free space under data_dir, how fast stored logs grow, and how old the last
successful backup is."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from roundhouse.db.models import Log, LogPart, utcnow
from roundhouse.db.session import SessionFactory
from roundhouse.ops import lastbackup
from roundhouse.ops.doctor.check import Check, fail, ok, warn
from roundhouse.settings import Settings

MIB = 1024 * 1024
FAIL_FREE_BYTES = 1024 * MIB
FAIL_FREE_SHARE = 0.05
WARN_FREE_SHARE = 0.10
GROWTH_WINDOW = timedelta(days=7)
# Warn when, at the last week's rate, logs fill the disk sooner than this.
GROWTH_WARNING_DAYS = 30
BACKUP_MAX_AGE = timedelta(hours=26)  # a daily backup, plus time for it to run


def size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def existing(path: Path) -> Path:
    """path, or its nearest existing parent (data_dir may not exist before the first start)."""
    path = path.resolve()
    while not path.exists():
        path = path.parent
    return path


def disk_space(data_dir: Path) -> Check:
    where = existing(data_dir)
    usage = shutil.disk_usage(where)
    saw = f"{size(usage.free)} free of {size(usage.total)} on the disk of {data_dir} (data_dir)"
    fix = (
        f"free space on that disk (old build caches: data_dir/cache; `du -sh {where}/*`), "
        "or move data_dir to a larger disk"
    )
    if usage.free < FAIL_FREE_BYTES or usage.free < usage.total * FAIL_FREE_SHARE:
        return fail("disk space", saw, fix)
    if usage.free < usage.total * WARN_FREE_SHARE:
        return warn("disk space", saw, fix)
    return ok("disk space", saw)


async def log_growth(sessions: SessionFactory, settings: Settings) -> Check:
    since = utcnow() - GROWTH_WINDOW
    async with sessions() as session:
        stored = await session.scalar(select(func.coalesce(func.sum(Log.size), 0)))
        recent = await session.scalar(
            select(func.coalesce(func.sum(Log.size), 0)).where(Log.aggregated_at >= since)
        )
        streaming = await session.scalar(
            select(func.coalesce(func.sum(func.length(LogPart.content)), 0))
        )
    total, weekly = int(stored or 0) + int(streaming or 0), int(recent or 0)
    saw = f"stored logs take {size(total)}; {size(weekly)} were added in the last 7 days"
    database = make_url(settings.database_url)
    if not database.drivername.startswith("sqlite") or not database.database or not weekly:
        return ok("log storage", saw)
    # SQLite keeps logs on the disk of its file: will the last week's rate fill it?
    free = shutil.disk_usage(existing(Path(database.database))).free
    runway_days = GROWTH_WINDOW.days * free / weekly
    if runway_days < GROWTH_WARNING_DAYS:
        return warn(
            "log storage",
            f"{saw}: at that rate the disk of the database is full in {int(runway_days)} days",
            "add disk space, or move to PostgreSQL on a larger disk (`roundhouse backup`, "
            "then `roundhouse restore` with the new database_url)",
        )
    return ok("log storage", saw)


def backup_age(settings: Settings) -> Check:
    last = lastbackup.read(settings)
    fix = (
        "run `roundhouse backup /backups/roundhouse-$(date +%F).tar.gz` daily (cron or a "
        "systemd timer) and copy the archive off this machine"
    )
    if last is None:
        return warn(
            "backup",
            f"no successful `roundhouse backup` is recorded in {lastbackup.record_path(settings)}",
            fix,
        )
    age = utcnow() - last.finished_at
    hours = int(age.total_seconds() // 3600)
    saw = f"the last backup, {last.file} ({size(last.size)}), finished {hours} h ago"
    if age > BACKUP_MAX_AGE:
        return warn("backup", saw, fix)
    return ok("backup", saw)
