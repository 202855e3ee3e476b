"""The tests' migrated databases (tests/dbtemplates.py) are what migrate() makes: the same
tables, columns, indexes and constraints, at the newest revision."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.pool import NullPool

from roundhouse.db.session import SQLITE_PAGE_BYTES, current_revision, head_revision, migrate
from tests.dbtemplates import PostgresTemplate, SqliteTemplate

CATALOG = {
    "columns": "SELECT table_name, column_name, data_type, column_default, is_nullable "
    "FROM information_schema.columns WHERE table_schema = current_schema()",
    "indexes": "SELECT indexname, replace(indexdef, current_schema() || '.', '') "
    "FROM pg_indexes WHERE schemaname = current_schema()",
    "constraints": "SELECT conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
    "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = current_schema()",
    "types": "SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
    "WHERE n.nspname = current_schema()",
}


def catalog(url: str) -> dict[str, set[tuple[object, ...]]]:
    engine = sqlalchemy.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            found = {
                name: {tuple(row) for row in connection.execute(sqlalchemy.text(query))}
                for name, query in CATALOG.items()
            }
            found["revision"] = {(current_revision(connection),)}
            return found
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_postgres_copy_is_what_migrate_makes(
    database_url: str, postgres_template: PostgresTemplate, postgres_url: str
) -> None:
    migrate(postgres_url)
    copied, migrated = catalog(database_url), catalog(postgres_url)
    assert copied == migrated
    assert len(copied["columns"]) > 50 and copied["revision"] == {(head_revision(),)}


def test_a_sqlite_copy_is_at_the_newest_revision_with_its_pragmas(
    sqlite_template: SqliteTemplate, tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh.db"
    migrate(f"sqlite:///{fresh}")
    copy = sqlite_template.copy_to(tmp_path / "copy.db")
    engine = sqlalchemy.create_engine(copy, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
            tables = sqlite_schema(connection)
            assert connection.exec_driver_sql("PRAGMA page_size").scalar() == SQLITE_PAGE_BYTES
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()
    with sqlalchemy.create_engine(f"sqlite:///{fresh}", poolclass=NullPool).connect() as other:
        assert tables == sqlite_schema(other)


def sqlite_schema(connection: sqlalchemy.Connection) -> dict[str, list[str]]:
    """Each table's definition as a sorted list of lines: Alembic's batch mode (SQLite's
    ALTER TABLE) writes a table's constraints in a different order in each process."""
    rows = connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")
    return {
        name: sorted(line.strip().rstrip(",") for line in sql.split("\n")) for name, sql in rows
    }
