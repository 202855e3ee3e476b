"""A database-neutral dump: every table's rows as JSON lines, in foreign-key order.

The native dumps (SQLite file, pg_dump) restore only into their own kind; this one restores
into either, which is how an installation moves from SQLite up to PostgreSQL. Tables are
reflected from the database, not taken from the models, so an archive made by an older
version loads into the schema of that version (restore migrates it afterwards).

Each line is {"table": name, "row": {column: value}}; datetimes are ISO strings and bytes are
base64, turned back into their types by the target column's type on load.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import JSON, Connection, LargeBinary, MetaData, Table, func, null, select, text
from sqlalchemy.sql.sqltypes import Date, DateTime

# Alembic's own bookkeeping: the target gets it from `alembic upgrade`, not from the dump.
SKIPPED = {"alembic_version"}
BATCH = 500


def tables(connection: Connection) -> list[Table]:
    """The database's tables in an order where every table comes after those it refers to."""
    metadata = MetaData()
    metadata.reflect(connection)
    return [t for t in metadata.sorted_tables if t.name not in SKIPPED]


def dump(connection: Connection, out: IO[str]) -> None:
    for table in tables(connection):
        order = list(table.primary_key.columns) or list(table.columns)
        for row in connection.execute(select(table).order_by(*order)).mappings():
            line = {"table": table.name, "row": {k: _encode(v) for k, v in row.items()}}
            out.write(json.dumps(line, separators=(",", ":")) + "\n")


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


def load(connection: Connection, source: Path) -> dict[str, int]:
    """Insert every row of a portable dump; returns rows inserted per table."""
    by_name = {t.name: t for t in tables(connection)}
    inserted: dict[str, int] = {}
    for name, rows in _batches(source):
        table = by_name.get(name)
        if table is None:
            raise ValueError(f"the dump has rows of table {name}, which the database lacks")
        connection.execute(table.insert(), [_decode(table, row) for row in rows])
        inserted[name] = inserted.get(name, 0) + len(rows)
    if connection.dialect.name == "postgresql":
        reset_sequences(connection, list(by_name.values()))
    return inserted


def _batches(source: Path) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    name, rows = "", list[dict[str, Any]]()
    with source.open() as lines:
        for raw in lines:
            line = json.loads(raw)
            if rows and (line["table"] != name or len(rows) >= BATCH):
                yield name, rows
                rows = []
            name = line["table"]
            rows.append(line["row"])
    if rows:
        yield name, rows


def _decode(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    decoded = {}
    for key, value in row.items():
        kind = table.columns[key].type
        if value is None and isinstance(kind, JSON):
            value = null()  # SQL NULL; a plain None would be stored as the JSON value null
        elif isinstance(value, str) and isinstance(kind, DateTime):
            value = datetime.fromisoformat(value)
        elif isinstance(value, str) and isinstance(kind, Date):
            value = date.fromisoformat(value)
        elif isinstance(value, str) and isinstance(kind, LargeBinary):
            value = base64.b64decode(value)
        decoded[key] = value
    return decoded


def reset_sequences(connection: Connection, tables: list[Table]) -> None:
    """Rows came with their ids; move each id sequence past the largest so new rows fit."""
    for table in tables:
        for column in table.primary_key.columns:
            sequence = connection.scalar(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": table.name, "column": column.name},
            )
            if sequence is None:
                continue
            largest = connection.scalar(select(func.max(column)))
            connection.execute(
                text("SELECT setval(:sequence, :value, :called)"),
                {"sequence": sequence, "value": largest or 1, "called": largest is not None},
            )
