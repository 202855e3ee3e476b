"""The Alembic migrations on SQLite and PostgreSQL: the newest schema is exactly the models,
and every revision goes down and up again (each database in a schema of its own).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from roundhouse.db.models import Base
from roundhouse.db.session import alembic_config, migrate, sync_url
from tests.conftest import POSTGRES_BASE


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    schema = f"rh_migrations_{uuid.uuid4().hex[:8]}"
    engine = sqlalchemy.create_engine(POSTGRES_BASE)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    yield f"{POSTGRES_BASE}?options=-csearch_path%3D{schema}"
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def differences(url: str) -> list[object]:
    engine = sqlalchemy.create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_server_default": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_migrations_match_the_models_and_go_down_and_up(empty_database: str) -> None:
    migrate(empty_database)
    assert differences(empty_database) == []

    command.downgrade(alembic_config(empty_database), "base")
    command.upgrade(alembic_config(empty_database), "head")
    assert differences(empty_database) == []


def test_rows_of_the_first_schema_get_the_new_defaults(empty_database: str) -> None:
    command.upgrade(alembic_config(empty_database), "0001")
    engine = sqlalchemy.create_engine(sync_url(empty_database))
    with engine.begin() as connection:
        connection.execute(
            sqlalchemy.text(
                "INSERT INTO repositories (slug, url, private, active, poll, branch_heads,"
                " next_build_number, created_at) VALUES ('a/b', 'file:///x', false, true, true,"
                " '{}', 1, CURRENT_TIMESTAMP)"
            )
        )
    command.upgrade(alembic_config(empty_database), "head")
    with engine.connect() as connection:
        row = connection.execute(
            sqlalchemy.text(
                "SELECT build_pushes, build_pull_requests, auto_cancel_pushes,"
                " auto_cancel_pull_requests, forge FROM repositories"
            )
        ).one()
    engine.dispose()
    assert tuple(row) == (True, True, False, False, None)
