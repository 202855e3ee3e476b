"""Migrated databases for tests, made from a template built once per test process.

Running the migrations takes about 0.4 s of CPU each time; a copy of their result takes a
few milliseconds. tests/integration/test_db_templates.py checks that a copy is what
migrate() makes.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from roundhouse.db.session import migrate, sync_url


class SqliteTemplate:
    """A migrated SQLite file; copies keep its page size and WAL mode (both in the file)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "template.db"
        migrate(f"sqlite:///{self.path}")  # closing its last connection folds the WAL in

    def copy_to(self, target: Path) -> str:
        shutil.copyfile(self.path, target)
        return f"sqlite:///{target}"


class PostgresTemplate:
    """The statements migrate() ran on an empty schema, run again on each new schema.

    PostgreSQL cannot copy a schema; the migrations name no schema (search_path decides),
    so their statements build the same tables wherever they run again.
    """

    def __init__(self, base_url: str) -> None:
        self.statements: list[tuple[str, Any]] = []
        schema = f"rh_template_{uuid.uuid4().hex[:10]}"
        admin = sqlalchemy.create_engine(base_url, poolclass=NullPool)
        with admin.begin() as connection:
            connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
        sqlalchemy.event.listen(Engine, "before_cursor_execute", self._record)
        try:
            migrate(schema_url(base_url, schema))
        finally:
            sqlalchemy.event.remove(Engine, "before_cursor_execute", self._record)
            with admin.begin() as connection:
                connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()

    def _record(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        # Reads (catalog lookups, the migration lock) change nothing: only writes are kept.
        if not statement.lstrip().upper().startswith(("SELECT", "SHOW")):
            self.statements.append((statement, parameters))

    def fill(self, url: str) -> str:
        """Bring the empty schema of url to the newest migration; returns url."""
        engine = sqlalchemy.create_engine(sync_url(url), poolclass=NullPool)
        try:
            with engine.begin() as connection:
                for statement, parameters in self.statements:
                    connection.exec_driver_sql(statement, parameters)
        finally:
            engine.dispose()
        return url


def schema_url(base_url: str, schema: str) -> str:
    return f"{base_url}?options=-csearch_path%3D{schema}"
