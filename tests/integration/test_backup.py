"""`roundhouse backup` and `restore` for real: a build runs, the archive is written while the
platform runs, restored into a new installation (SQLite → SQLite, PostgreSQL → PostgreSQL,
SQLite → PostgreSQL), and the restored platform shows the history and builds again.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy

from roundhouse import __version__
from roundhouse.db.session import head_revision
from tests.conftest import POSTGRES_BASE, GitRepo, Running

ROUNDHOUSE = Path(sys.executable).parent / "roundhouse"
BUILD = "language: shell\nscript:\n  - echo backed up build\n"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Each test names its own source and target databases."""
    return f"sqlite:///{tmp_path / 'unused.db'}"


@pytest.fixture
def new_postgres() -> Iterator[Callable[[], str]]:
    """Whole databases, not schemas: pg_dump and pg_restore work on a database."""
    server = sqlalchemy.create_engine(
        sqlalchemy.engine.make_url(POSTGRES_BASE).set(database="postgres"),
        isolation_level="AUTOCOMMIT",
    )
    names: list[str] = []

    def make() -> str:
        name = f"rh_backup_{uuid.uuid4().hex[:10]}"
        with server.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        names.append(name)
        return sqlalchemy.engine.make_url(POSTGRES_BASE).set(database=name).render_as_string(False)

    yield make
    with server.connect() as connection:
        for name in names:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    server.dispose()


@dataclass
class Result:
    code: int
    out: str
    err: str


async def cli(data_dir: Path, database_url: str, *args: str) -> Result:
    """The real command, with settings from the environment like an operator's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDHOUSE_")}
    env.update(ROUNDHOUSE_DATA_DIR=str(data_dir), ROUNDHOUSE_DATABASE_URL=database_url)
    process = await asyncio.create_subprocess_exec(
        str(ROUNDHOUSE),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return Result(process.returncode or 0, out.decode(), err.decode())


def installation(
    tmp_path: Path, name: str, kind: str, new_postgres: Callable[[], str]
) -> tuple[Path, str]:
    data_dir = tmp_path / name
    data_dir.mkdir()
    if kind == "sqlite":
        return data_dir, f"sqlite:///{data_dir / 'roundhouse.db'}"
    return data_dir, new_postgres()


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("source_kind", "target_kind"),
    [
        ("sqlite", "sqlite"),
        ("postgres", "postgres"),
        ("sqlite", "postgres"),
        ("postgres", "sqlite"),
    ],
)
async def test_history_logs_and_settings_survive_a_round_trip(
    source_kind: str,
    target_kind: str,
    tmp_path: Path,
    start_system: Callable[..., Awaitable[Running]],
    git_repo: Callable[..., GitRepo],
    new_postgres: Callable[[], str],
) -> None:
    source_dir, source_url = installation(tmp_path, "source", source_kind, new_postgres)
    source = await start_system(data_dir=source_dir, database_url=source_url)
    repo = git_repo()
    repo.commit({".travis.yml": BUILD}, "The build to keep")
    slug = (await source.add_repo(repo))["slug"]
    changed = await source.http.patch(
        f"/api/repo/{slug}/settings",
        json={"build_pull_requests": False, "forge": "gitea", "forge_token": "t0ken"},
    )
    assert changed.status_code == 200, changed.text
    build = await source.finished_build(await source.build_of(slug, await source.trigger(slug)))
    assert build["state"] == "passed"

    archive = tmp_path / "backup.tar.gz"
    made = await cli(source_dir, source_url, "backup", str(archive))  # the platform runs
    assert made.code == 0, made.err
    assert "1 repositories" in made.out
    verified = await cli(source_dir, source_url, "backup", "--verify", "--json", str(archive))
    assert verified.code == 0, verified.err
    manifest = json.loads(verified.out)
    assert manifest["database_kind"] == ("sqlite" if source_kind == "sqlite" else "postgresql")
    assert manifest["alembic_revision"] == head_revision()
    assert manifest["roundhouse_version"] == __version__
    assert manifest["counts"] == {"repositories": 1, "builds": 1, "jobs": 1, "logs": 1}
    assert set(manifest["files"]) == {
        "database/roundhouse.sqlite3" if source_kind == "sqlite" else "database/roundhouse.pgdump",
        "database/portable.jsonl",
        "settings.json",
    }

    target_dir, target_url = installation(tmp_path, "target", target_kind, new_postgres)
    key = source_dir / "encryption.key"
    if key.exists():  # made at first start when at-rest encryption is on: carried over apart
        (target_dir / "encryption.key").write_bytes(key.read_bytes())
    restored = await cli(target_dir, target_url, "restore", str(archive))
    assert restored.code == 0, restored.err
    assert "1 builds" in restored.out

    target = await start_system(data_dir=target_dir, database_url=target_url)
    again = await target.build(build["id"])
    assert again["state"] == "passed"
    assert again["commit"]["message"] == "The build to keep"
    assert "backed up build" in await target.log(build["jobs"][0]["id"])
    settings = (await target.http.get(f"/api/repo/{slug}/settings")).json()
    assert settings["build_pull_requests"] is False
    assert settings["forge"] == "gitea"
    assert settings["forge_token_set"] is True
    # New rows get new ids: after a cross-database restore the sequences were moved on.
    second = await target.finished_build(await target.build_of(slug, await target.trigger(slug)))
    assert second["state"] == "passed"
    assert second["number"] == build["number"] + 1


@pytest.fixture
def small_backup(tmp_path: Path) -> tuple[Path, str]:
    """An installation with its schema and no history; enough for the failure cases."""
    from roundhouse.db.session import migrate

    data_dir = tmp_path / "small"
    data_dir.mkdir()
    url = f"sqlite:///{data_dir / 'roundhouse.db'}"
    migrate(url)
    return data_dir, url


async def test_a_damaged_archive_fails_verify_with_a_reason(
    tmp_path: Path, small_backup: tuple[Path, str]
) -> None:
    archive = tmp_path / "backup.tar.gz"
    assert (await cli(*small_backup, "backup", str(archive))).code == 0
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))

    result = await cli(*small_backup, "backup", "--verify", str(archive))

    assert result.code == 1
    assert result.err.startswith(f"roundhouse: The archive {archive} is damaged")
    assert len(result.err.strip().splitlines()) == 1


async def test_a_changed_file_fails_its_checksum(
    tmp_path: Path, small_backup: tuple[Path, str]
) -> None:
    import tarfile

    archive = tmp_path / "backup.tar.gz"
    assert (await cli(*small_backup, "backup", str(archive))).code == 0
    unpacked = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        tar.extractall(unpacked, filter="data")
    (unpacked / "settings.json").write_text("{}\n")
    with tarfile.open(archive, "w:gz") as tar:
        for name in names:
            tar.add(unpacked / name, arcname=name)

    result = await cli(*small_backup, "backup", "--verify", str(archive))

    assert result.code == 1
    assert "the checksum of settings.json does not match its manifest" in result.err


async def test_restore_into_a_database_with_repositories_is_refused(
    tmp_path: Path,
    small_backup: tuple[Path, str],
    start_system: Callable[..., Awaitable[Running]],
    git_repo: Callable[..., GitRepo],
) -> None:
    archive = tmp_path / "backup.tar.gz"
    assert (await cli(*small_backup, "backup", str(archive))).code == 0
    busy_dir, busy_url = tmp_path / "busy", f"sqlite:///{tmp_path / 'busy' / 'roundhouse.db'}"
    busy = await start_system(data_dir=busy_dir, database_url=busy_url)
    await busy.add_repo(git_repo())

    result = await cli(busy_dir, busy_url, "restore", str(archive))

    assert result.code == 1
    assert "already has 1 repositories; restore only into an empty installation" in result.err


async def test_an_archive_with_the_key_needs_its_passphrase(
    tmp_path: Path, small_backup: tuple[Path, str]
) -> None:
    data_dir, url = small_backup
    (data_dir / "encryption.key").write_text("the-instance-key\n")
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("correct horse battery staple\n")
    wrong = tmp_path / "wrong"
    wrong.write_text("incorrect\n")
    archive = tmp_path / "backup.tar.gz.enc"
    made = await cli(
        data_dir, url, "backup", str(archive), "--include-key", "--passphrase-file", str(passphrase)
    )
    assert made.code == 0, made.err
    assert b"the-instance-key" not in archive.read_bytes()

    no_passphrase = await cli(data_dir, url, "backup", "--verify", str(archive))
    assert no_passphrase.code == 1
    assert "is encrypted (it holds the key); give its passphrase" in no_passphrase.err
    wrong_one = await cli(data_dir, url, "restore", str(archive), "--passphrase-file", str(wrong))
    assert wrong_one.code == 1
    assert (
        wrong_one.err
        == f"roundhouse: The passphrase does not open the encrypted archive {archive}.\n"
    )

    target = tmp_path / "target"
    target_url = f"sqlite:///{target / 'roundhouse.db'}"
    restored = await cli(
        target, target_url, "restore", str(archive), "--passphrase-file", str(passphrase)
    )
    assert restored.code == 0, restored.err
    assert (target / "encryption.key").read_text() == "the-instance-key\n"
    assert (target / "encryption.key").stat().st_mode & 0o777 == 0o600


async def test_restore_without_the_key_needs_the_same_key_here(
    tmp_path: Path, small_backup: tuple[Path, str]
) -> None:
    data_dir, url = small_backup
    (data_dir / "encryption.key").write_text("the-instance-key\n")
    archive = tmp_path / "backup.tar.gz"
    assert (await cli(data_dir, url, "backup", str(archive))).code == 0
    target = tmp_path / "target"
    target.mkdir()
    target_url = f"sqlite:///{target / 'roundhouse.db'}"

    missing = await cli(target, target_url, "restore", str(archive))
    assert missing.code == 1
    assert f"which is not here: put it at {target / 'encryption.key'}" in missing.err

    (target / "encryption.key").write_text("another-key\n")
    other = await cli(target, target_url, "restore", str(archive))
    assert other.code == 1
    assert "is not the archive's key" in other.err

    (target / "encryption.key").write_text("the-instance-key\n")
    assert (await cli(target, target_url, "restore", str(archive))).code == 0


async def test_an_older_archive_is_migrated_and_caches_come_back(tmp_path: Path) -> None:
    from alembic import command

    from roundhouse.db.session import alembic_config

    source = tmp_path / "old"
    source.mkdir()
    old_url = f"sqlite:///{source / 'roundhouse.db'}"
    command.upgrade(alembic_config(old_url), "0001")
    (source / "cache" / "team" / "app").mkdir(parents=True)
    (source / "cache" / "team" / "app" / "pip.tgz").write_bytes(b"cached")
    archive = tmp_path / "old.tar.gz"
    made = await cli(source, old_url, "backup", str(archive), "--with-caches")
    assert made.code == 0, made.err
    assert "revision 0001" in made.out
    assert "with caches" in made.out

    target = tmp_path / "target"
    restored = await cli(target, f"sqlite:///{target / 'roundhouse.db'}", "restore", str(archive))

    assert restored.code == 0, restored.err
    assert f"the database is at revision {head_revision()}" in restored.out
    assert (target / "cache" / "team" / "app" / "pip.tgz").read_bytes() == b"cached"


async def test_usage_mistakes_are_one_sentence(
    tmp_path: Path, small_backup: tuple[Path, str]
) -> None:
    archive = tmp_path / "backup.tar.gz"
    no_passphrase = await cli(*small_backup, "backup", str(archive), "--include-key")
    assert no_passphrase.code == 1
    assert no_passphrase.err == (
        "roundhouse: --include-key needs --passphrase-file: an archive with the key is encrypted.\n"
    )
    empty_file = tmp_path / "empty"
    empty_file.write_text("")
    empty = await cli(
        *small_backup, "backup", str(archive), "--include-key", "--passphrase-file", str(empty_file)
    )
    assert empty.code == 1
    assert "is empty; write the passphrase on its first line" in empty.err
    assert (await cli(*small_backup, "backup", str(archive))).code == 0
    again = await cli(*small_backup, "backup", str(archive))
    assert again.code == 1
    assert again.err == f"roundhouse: {archive} already exists; give the backup a new file name.\n"
    assert not list(tmp_path.glob(".roundhouse-backup-*"))  # no staging left behind
