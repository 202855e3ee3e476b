"""`roundhouse console`: a Python prompt on the installation's database, for what no command
covers. The models are imported; `run(coroutine)` runs async code; `rows(statement)` and
`one(statement)` query in a session of their own; `session()` opens one to change things.
"""

from __future__ import annotations

from typing import Any

from roundhouse.cli.common import ConfigOpt, app, fail

BANNER = """Roundhouse console on {database}
  models:   {models}
  select, update, delete, func: from sqlalchemy
  rows(select(Job).where(Job.state == "queued"))   all results
  one(select(func.count()).select_from(Build))     the first result
  run(coroutine)                                   any async code, e.g. with session():
  async with session() as s, s.begin(): ...        (commits at the end of the block)
Ctrl-D leaves."""


def namespace(database_url: str) -> dict[str, Any]:
    """What the prompt starts with; its event loop and engine live as long as the prompt."""
    import asyncio

    import sqlalchemy

    from roundhouse.db import models
    from roundhouse.db.session import make_engine, make_sessions

    loop = asyncio.new_event_loop()
    engine = make_engine(database_url)
    sessions = make_sessions(engine)

    def run(work: Any) -> Any:
        return loop.run_until_complete(work)

    async def _rows(statement: Any) -> list[Any]:
        async with sessions() as session:
            return list((await session.execute(statement)).scalars())

    def rows(statement: Any) -> list[Any]:
        return list(run(_rows(statement)))

    def one(statement: Any) -> Any:
        found = rows(statement)
        return found[0] if found else None

    names = {
        name: value
        for name, value in vars(models).items()
        if isinstance(value, type) and issubclass(value, models.Base) and value is not models.Base
    }
    return {
        **names,
        "select": sqlalchemy.select,
        "update": sqlalchemy.update,
        "delete": sqlalchemy.delete,
        "func": sqlalchemy.func,
        "session": sessions,
        "rows": rows,
        "one": one,
        "run": run,
        "engine": engine,
        "_loop": loop,
    }


@app.command()
def console(config: ConfigOpt = None) -> None:
    """A Python prompt with the models and a database session (reads statements from stdin)."""
    import code

    from roundhouse import settings as settings_module
    from roundhouse.ops.doctor.database import shown

    try:
        settings = settings_module.load(config)
    except settings_module.SettingsError as error:
        fail(str(error))
    scope = namespace(settings.database_url)
    models = ", ".join(sorted(k for k, v in scope.items() if isinstance(v, type)))
    banner = BANNER.format(database=shown(settings.database_url), models=models)
    try:
        code.interact(banner=banner, local=scope, exitmsg="")
    finally:
        scope["_loop"].run_until_complete(scope["engine"].dispose())
        scope["_loop"].close()
