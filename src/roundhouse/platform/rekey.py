"""Every encrypted column at once: the start-up key check, sealing plain values, and
`roundhouse key rotate` (a new key, every secret re-encrypted in one transaction).

Encrypted columns are the ones whose Column.info says "secret" (db/models.py, SECRET), so a
new one is checked and rotated without a list here to forget.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Table, func, not_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import Base
from roundhouse.db.session import make_engine, make_sessions, migrate
from roundhouse.platform.locks import transaction_lock
from roundhouse.platform.secrets import (
    FORMAT,
    PLAIN,
    AtRest,
    encryption_key,
    generate_key,
    key_file,
    key_id,
    mismatch,
    parse_ring,
    stored_key_id,
    write_key_file,
)
from roundhouse.settings import Settings, SettingsError

# A stored value's first characters name its key: "v1:1234abcd:" or "1234abcd:".
PREFIX_LENGTH = len(f"{FORMAT}:12345678:")
PASSES = 3


def secret_columns() -> list[tuple[Table, Column[Any]]]:
    return [
        (table, column)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if column.info.get("secret")
    ]


async def key_ids_in_use(session: AsyncSession) -> set[str]:
    """The ids of the keys that encrypted the database's secrets."""
    found: set[str] = set()
    for _table, column in secret_columns():
        prefixes: list[str] = list(
            await session.scalars(
                select(func.substr(column, 1, PREFIX_LENGTH)).where(column.is_not(None)).distinct()
            )
        )
        found |= {i for i in map(stored_key_id, prefixes) if i is not None}
    return found


async def check_instance_key(session: AsyncSession, at_rest: AtRest) -> None:
    """Refuse to start with a key ring that lacks a key the stored secrets need."""
    missing = sorted((await key_ids_in_use(session)) - set(at_rest.key_ids))
    if missing:
        raise SettingsError(f"Cannot start: {mismatch(at_rest.key_id, ', '.join(missing))}.")


def check_before_start(settings: Settings) -> None:
    """Migrate and check the key before the web server starts, so that a wrong key is one
    sentence from the command (SettingsError) and not a failed server start-up."""
    at_rest = AtRest.from_settings(settings)
    migrate(settings.database_url)

    async def check() -> None:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessions(engine)() as session:
                await check_instance_key(session, at_rest)
        finally:
            await engine.dispose()

    asyncio.run(check())


def _kind(stored: str) -> str:
    if stored.startswith(PLAIN):
        return "plain"
    return "v1" if stored.startswith(f"{FORMAT}:") else "fernet"


async def _rewrite(session: AsyncSession, at_rest: AtRest, only_plain: bool) -> Counter[str]:
    """Encrypt again with the current key every value that is not (or only the plain ones);
    how many of each kind (v1, fernet, plain) were rewritten."""
    counts: Counter[str] = Counter()
    current = f"{FORMAT}:{at_rest.key_id}:%"
    for table, column in secret_columns():
        keys = list(table.primary_key.columns)
        stale = column.like(f"{PLAIN}%") if only_plain else not_(column.like(current))
        rows = await session.execute(select(*keys, column).where(column.is_not(None), stale))
        for row in rows.all():
            *ids, stored = row
            stored = str(stored)
            value = at_rest.encrypt(at_rest.decrypt(stored))
            where = [key == ident for key, ident in zip(keys, ids, strict=True)]
            await session.execute(update(table).where(*where).values({column.name: value}))
            counts[_kind(stored)] += 1
    return counts


async def seal_plain_values(session: AsyncSession, at_rest: AtRest) -> int:
    """Encrypt the values migration 0008 marked `plain:`; how many there were."""
    return sum((await _rewrite(session, at_rest, only_plain=True)).values())


@dataclass
class Rotation:
    old_ids: list[str]
    new_id: str
    rewritten: Counter[str] = field(default_factory=Counter)


async def rotate(settings: Settings) -> Rotation:
    """Make a new key, re-encrypt every secret with it, then drop the old keys from the file.

    The file first gets the new key in front of the old ones, so that whatever happens next
    (a crash, a failed transaction) every stored value still has its key on the ring.
    """
    if settings.encryption_key.get_secret_value():
        raise SettingsError(
            "The key comes from the setting encryption_key, which `roundhouse key rotate` cannot"
            " change: write it to a file (`roundhouse key export > FILE`, mode 0600), set"
            " encryption_key_file to FILE, remove encryption_key, and rotate again."
        )
    path = key_file(settings)
    old = parse_ring(encryption_key(settings), f"the file {path} (encryption_key_file)")
    migrate(settings.database_url)
    new = generate_key()
    rotation = Rotation([key_id(k) for k in old], key_id(new))
    await _reencrypt(settings, AtRest(old), AtRest([new, *old]), rotation, path)
    write_key_file(path, [new])
    return rotation


async def _reencrypt(
    settings: Settings, before: AtRest, after: AtRest, rotation: Rotation, path: Path
) -> None:
    engine = make_engine(settings.database_url)
    sessions = make_sessions(engine)
    try:
        async with sessions() as session:
            await check_instance_key(session, before)
        write_key_file(path, after.keys)
        # A platform process that encrypted with the old key while this ran wrote a value the
        # pass missed: the next pass takes it, and the old keys go only when none is left.
        for _ in range(PASSES):
            async with sessions() as session, session.begin():
                await transaction_lock(session, "roundhouse:key-rotate")
                counts = await _rewrite(session, after, only_plain=False)
            rotation.rewritten += counts
            if not counts:
                return
        raise SettingsError(
            f"Secrets encrypted with an old key kept appearing during {PASSES} passes; the key"
            f" file {path} keeps the old keys as well, so nothing is lost. Stop the platform"
            " processes that do not read this key file, then run `roundhouse key rotate` again."
        )
    finally:
        await engine.dispose()
