"""The broker checks against the real RabbitMQ (stopped, wrong password, missing vhost,
queues), and the storage checks (a full disk, backup age)."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import aio_pika
import pytest

from roundhouse.db.models import utcnow
from roundhouse.db.session import make_engine, make_sessions, migrate
from roundhouse.ops import lastbackup
from roundhouse.ops.backup import backup
from roundhouse.ops.doctor.broker import connect, consumed_queues
from roundhouse.ops.doctor.storage import backup_age, disk_space, log_growth
from roundhouse.settings import Settings
from tests.conftest import free_port
from tests.integration.broker.rabbitmq import url_of


async def test_a_stopped_broker_a_wrong_password_and_a_missing_vhost_are_told_apart(
    vhost: str,
) -> None:
    check, connection = await connect(url_of(vhost))
    assert connection is not None
    await connection.close()
    assert check.status == "ok"
    assert check.saw == (
        f"RabbitMQ at amqp://guest:***@127.0.0.1:5672/{vhost} answers; user 'guest' is logged "
        f"in on vhost {vhost!r}"
    )

    port = free_port()
    stopped, _ = await connect(f"amqp://guest:guest@127.0.0.1:{port}/{vhost}")
    assert stopped.status == "FAIL"
    assert stopped.saw.startswith(
        f"RabbitMQ at amqp://guest:***@127.0.0.1:{port}/{vhost} is not reachable: nothing "
        f"answers on 127.0.0.1 port {port} ("
    )
    assert stopped.fix.startswith(f"start RabbitMQ, open TCP port {port} from this machine")

    wrong, _ = await connect(f"amqp://guest:wrong@127.0.0.1:5672/{vhost}")
    assert (wrong.status, wrong.saw) == (
        "FAIL",
        f"RabbitMQ at amqp://guest:***@127.0.0.1:5672/{vhost} refused the login of user "
        "'guest': wrong user or password",
    )

    missing, _ = await connect("amqp://guest:guest@127.0.0.1:5672/no-such-vhost")
    assert (missing.status, missing.saw) == (
        "FAIL",
        "RabbitMQ at amqp://guest:***@127.0.0.1:5672/no-such-vhost accepted user 'guest' but "
        "not on vhost 'no-such-vhost': the vhost does not exist or the user may not use it",
    )
    assert missing.fix.startswith("`rabbitmqctl add_vhost no-such-vhost`")


async def test_the_queues_a_worker_consumes_exist_with_their_depth(vhost: str) -> None:
    connection = await aio_pika.connect(url_of(vhost))
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(
            "builds.jammy", durable=True, arguments={"x-queue-type": "quorum"}
        )
        await channel.default_exchange.publish(aio_pika.Message(b"{}"), routing_key=queue.name)
        checks = await consumed_queues(connection, ["builds.jammy", "builds.trusty"])
    finally:
        await connection.close()
    assert [(c.name, c.status, c.saw) for c in checks] == [
        ("queue builds.jammy", "ok", "queue builds.jammy exists: 1 message waiting, 0 consumers"),
        (
            "queue builds.trusty",
            "warn",
            "queue builds.trusty does not exist in RabbitMQ yet: no job was ever routed to it "
            "and no worker consumed it",
        ),
    ]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB file system (tmpfs), unmounted at the end."""
    path = tmp_path / "small"
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def test_a_nearly_full_disk_under_data_dir_fails(small_disk: Path) -> None:
    (small_disk / "filler").write_bytes(b"x" * 15 * 1024 * 1024)
    check = disk_space(small_disk / "data")
    assert check.status == "FAIL"
    assert check.saw == f"1.0 MiB free of 16.0 MiB on the disk of {small_disk / 'data'} (data_dir)"
    assert check.fix.startswith("free space on that disk")


def test_the_age_of_the_last_backup_is_read_from_what_backup_recorded(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'r.db'}")
    migrate(settings.database_url)
    never = backup_age(settings)
    assert (never.status, never.saw) == (
        "warn",
        f"no successful `roundhouse backup` is recorded in {tmp_path / 'data/last-backup.json'}",
    )

    archive = tmp_path / "backup.tar.gz"
    backup(settings, archive)
    fresh = backup_age(settings)
    assert fresh.status == "ok"
    assert fresh.saw.startswith(f"the last backup, {archive} (")
    assert fresh.saw.endswith("finished 0 h ago")

    lastbackup.record(settings, archive, utcnow() - timedelta(days=3))
    old = backup_age(settings)
    assert old.status == "warn" and old.saw.endswith("finished 72 h ago")
    assert old.fix.startswith(
        "run `roundhouse backup /backups/roundhouse-$(date +%F).tar.gz` daily"
    )


async def test_logs_that_will_fill_the_disk_of_sqlite_within_a_month_warn(
    small_disk: Path,
) -> None:
    url = f"sqlite:///{small_disk / 'roundhouse.db'}"
    migrate(url)
    # A week's logs as large as what is left free: the disk is full in about a week. Written
    # without the rows they belong to (foreign keys are off in a bare sqlite3 connection): the
    # check reads sizes only.
    with closing(sqlite3.connect(small_disk / "roundhouse.db")) as db, db:
        db.execute(
            "INSERT INTO logs (job_id, attempt, content, size, aggregated_at) VALUES (?,?,?,?,?)",
            (1, 1, "", 12 * 1024 * 1024, utcnow().replace(tzinfo=None).isoformat(sep=" ")),
        )
    engine = make_engine(url)
    try:
        check = await log_growth(make_sessions(engine), Settings(database_url=url))
    finally:
        await engine.dispose()

    assert check.status == "warn", check
    assert check.saw.startswith(
        "stored logs take 12.0 MiB; 12.0 MiB were added in the last 7 days: at that rate the disk "
        "of the database is full in "
    )
    assert "move to PostgreSQL" in check.fix
