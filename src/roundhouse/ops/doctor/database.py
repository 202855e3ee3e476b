"""Database checks: the database answers, and is at this version's newest migration."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from roundhouse.db.session import (
    SessionFactory,
    alembic_config,
    current_revision,
    head_revision,
)
from roundhouse.ops.doctor.check import Check, fail, ok


def shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def database(sessions: SessionFactory, database_url: str) -> Check:
    where = shown(database_url)
    parsed = make_url(database_url)
    # Opening a SQLite file that is not there would create an empty one.
    sqlite_file = parsed.database if parsed.drivername.startswith("sqlite") else None
    if sqlite_file and not Path(sqlite_file).is_file():
        return fail(
            "database",
            f"the SQLite database {sqlite_file} does not exist",
            "start the platform once (`roundhouse up`), or set data_dir or database_url "
            "to this installation's",
        )
    try:
        async with sessions() as session:
            await session.execute(text("SELECT 1"))
            revision = await session.run_sync(lambda s: current_revision(s.connection()))
    except Exception as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        return fail(
            "database",
            f"the database at {where} does not answer: {reason}",
            "start the database, check host, port, user and password in database_url, or open "
            "its port from this machine",
        )
    head = head_revision()
    if revision == head:
        return ok("database", f"the database at {where} answers, at the newest migration {head}")
    if revision is None:
        return fail(
            "database",
            f"the database at {where} has no Roundhouse tables",
            "start the platform once (it creates them), or fix database_url",
        )
    known = {
        r.revision
        for r in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()
    }
    if revision not in known:
        return fail(
            "database",
            f"the database at {where} is at migration {revision}, which this version does not "
            "know: a newer Roundhouse migrated it",
            "install that newer Roundhouse here too",
        )
    return fail(
        "database",
        f"the database at {where} is at migration {revision}; this version needs {head}",
        "restart the platform, which migrates at start (take a `roundhouse backup` first)",
    )
