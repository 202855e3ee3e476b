"""Native snapshots of the database and what backup and restore need to know about it.

SQLite: the online backup API copies a consistent file while the platform writes.
PostgreSQL: a REPEATABLE READ transaction exports its snapshot; pg_dump (custom format) and
the portable dump both read that snapshot, so they and the manifest's counts agree exactly.
The PostgreSQL tools get the password through PGPASSWORD, never on a command line that
`ps` would show.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, MetaData, create_engine, func, inspect, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from roundhouse.db.session import current_revision, sync_url
from roundhouse.ops import OpsError, portable

COUNTED = ("repositories", "builds", "jobs", "logs")
SQLITE_FILE = "roundhouse.sqlite3"
PGDUMP_FILE = "roundhouse.pgdump"
PORTABLE_FILE = "portable.jsonl"


@contextmanager
def reachable(url: str) -> Iterator[None]:
    """Turn "cannot connect" from the driver into one sentence naming the database."""
    try:
        yield
    except OperationalError as error:
        reason = str(error.orig or error).strip().splitlines()[0]
        shown = make_url(url).render_as_string(hide_password=True)
        raise OpsError(f"The database {shown} cannot be used ({reason}).") from None


def kind(url: str) -> str:
    return "sqlite" if make_url(url).drivername.startswith("sqlite") else "postgresql"


def sqlite_path(url: str) -> Path:
    return Path(make_url(url).database or "")


@dataclass
class Snapshot:
    """The dump files written into a staging directory, and what they hold."""

    native: Path
    portable: Path
    revision: str | None
    counts: dict[str, int]


def describe(connection: Connection) -> tuple[str | None, dict[str, int]]:
    """The Alembic revision and the row counts the manifest records."""
    revision = current_revision(connection)
    names = set(inspect(connection).get_table_names())
    counts = {
        name: int(connection.scalar(select(func.count()).select_from(table(name))) or 0)
        for name in COUNTED
        if name in names
    }
    return revision, counts


def snapshot(url: str, staging: Path) -> Snapshot:
    """Dump the database at url into staging, consistently, while others keep writing."""
    if kind(url) == "sqlite":
        return _sqlite_snapshot(sqlite_path(url), staging)
    return _postgres_snapshot(url, staging)


def _sqlite_snapshot(source: Path, staging: Path) -> Snapshot:
    if not source.is_file():
        raise OpsError(f"There is no SQLite database at {source}; check database_url or data_dir.")
    copy = staging / SQLITE_FILE
    with _sqlite(source) as live, _sqlite(copy) as target:
        live.backup(target)
        # A self-contained file: no -wal or -shm beside it in the archive or after restore.
        target.execute("PRAGMA journal_mode=DELETE")
    engine = create_engine(f"sqlite:///{copy}")
    try:
        with engine.connect() as connection:
            return _dump_portable(connection, copy, staging)
    finally:
        engine.dispose()


@contextmanager
def _sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(path, timeout=30)
    try:
        yield connection
    finally:
        connection.close()


def _postgres_snapshot(url: str, staging: Path) -> Snapshot:
    engine = create_engine(sync_url(url), isolation_level="REPEATABLE READ")
    native = staging / PGDUMP_FILE
    try:
        with engine.connect() as connection, connection.begin():
            snapshot_id = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
            run_tool(
                "pg_dump", url, "--format=custom", f"--snapshot={snapshot_id}", f"--file={native}"
            )
            return _dump_portable(connection, native, staging)
    finally:
        engine.dispose()


def _dump_portable(connection: Connection, native: Path, staging: Path) -> Snapshot:
    target = staging / PORTABLE_FILE
    with target.open("w") as out:
        portable.dump(connection, out)
    revision, counts = describe(connection)
    return Snapshot(native, target, revision, counts)


def run_tool(tool: str, url: str, *args: str) -> None:
    """Run pg_dump or pg_restore against url; OpsError with its first error line on failure."""
    parsed = make_url(sync_url(url))
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    libpq_url = parsed.set(drivername="postgresql", password=None).render_as_string()
    try:
        subprocess.run(
            [tool, f"--dbname={libpq_url}", *args], env=env, check=True, capture_output=True
        )
    except FileNotFoundError:
        raise OpsError(
            f"{tool} is not installed; install the PostgreSQL client tools "
            "(Debian: apt install postgresql-client)."
        ) from None
    except subprocess.CalledProcessError as error:
        lines = error.stderr.decode(errors="replace").strip().splitlines()
        raise OpsError(f"{tool} failed: {lines[0] if lines else 'no message'}.") from None


def repository_count(connection: Connection) -> int:
    """Repositories in the target database (0 when it has no schema yet)."""
    if not inspect(connection).has_table("repositories"):
        return 0
    return int(connection.scalar(select(func.count()).select_from(table("repositories"))) or 0)


def drop_everything(connection: Connection) -> None:
    """Drop the tables of an empty installation, so that the archive's schema replaces them."""
    metadata = MetaData()
    metadata.reflect(connection)
    metadata.drop_all(connection)
