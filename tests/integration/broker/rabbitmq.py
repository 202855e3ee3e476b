"""The test RabbitMQ, driven with rabbitmqctl: vhosts of their own for tests, and outages;
and AmqpBroker as tests configure it.

The RabbitMQ at 127.0.0.1:5672 is shared with every other test run on this machine: tests
only touch their own vhost, and an outage (stop_app) always ends with start_app.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from roundhouse.broker.amqp import AmqpBroker, Backoff

SERVER = os.environ.get("ROUNDHOUSE_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672")
USER = "guest"


def rabbitmqctl(*args: str, check: bool = True, stdin: str | None = None) -> str:
    result = subprocess.run(
        ["rabbitmqctl", "-q", *args], input=stdin, capture_output=True, text=True, timeout=120
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


class Vhosts:
    """A fresh vhost for each test, that the guest user may use; all deleted at the end.

    Every rabbitmqctl call starts an Erlang VM (one to two seconds), so vhosts are created
    ahead in batches with one import_definitions each, and deleted with one call at the end.
    Names carry this session's id: a test run elsewhere on this RabbitMQ is never touched.
    """

    BATCH = 8

    def __init__(self) -> None:
        self._prefix = f"rh-test-{uuid.uuid4().hex[:8]}"
        self._numbers = itertools.count()
        self._ready: list[str] = []
        self._created: list[str] = []

    def take(self) -> str:
        if not self._ready:
            self._create(self.BATCH)
        return self._ready.pop(0)

    def _create(self, count: int) -> None:
        names = [f"{self._prefix}-{next(self._numbers)}" for _ in range(count)]
        definitions = {
            "vhosts": [{"name": name} for name in names],
            "permissions": [
                {"user": USER, "vhost": name, "configure": ".*", "write": ".*", "read": ".*"}
                for name in names
            ],
        }
        # On stdin: rabbitmqctl may not be allowed to read a private temporary file.
        rabbitmqctl("import_definitions", "--format", "json", stdin=json.dumps(definitions))
        self._ready.extend(names)
        self._created.extend(names)

    def delete_all(self) -> None:
        if not self._created:
            return
        # rabbit_vhost:delete/2 is the function behind delete_vhost (RabbitMQ 3.8 to 4.x);
        # `catch`, because a test may have deleted its vhost already.
        names = ", ".join(f'<<"{name}">>' for name in self._created)
        erlang = f'[catch rabbit_vhost:delete(V, <<"roundhouse-tests">>) || V <- [{names}]], ok.'
        if subprocess.run(["rabbitmqctl", "-q", "eval", erlang], capture_output=True).returncode:
            for name in self._created:
                rabbitmqctl("delete_vhost", name, check=False)
        self._created.clear()


def url_of(vhost: str) -> str:
    return f"{SERVER}/{vhost}"


def connections(vhost: str) -> list[str]:
    """The server-side ids (Erlang pids) of the connections to vhost."""
    out = rabbitmqctl("list_connections", "--no-table-headers", "pid", "vhost")
    rows = (line.split("\t") for line in out.splitlines() if line.strip())
    return [pid for pid, host in rows if host == vhost]


def connections_named(vhost: str, prefix: str) -> list[str]:
    """The ids of the connections to vhost whose connection name (AmqpBroker's name=)
    starts with prefix."""
    listing = json.loads(
        rabbitmqctl("list_connections", "name", "client_properties", "--formatter", "json")
    )
    named = {
        row["name"]
        for row in listing
        if any(
            key == "connection_name" and str(value).startswith(prefix)
            for key, _, value in row["client_properties"]
        )
    }
    out = rabbitmqctl("list_connections", "--no-table-headers", "pid", "name", "vhost")
    rows = (line.split("\t") for line in out.splitlines() if line.strip())
    return [pid for pid, name, host in rows if host == vhost and name in named]


def close_connections(vhost: str) -> int:
    """Close every connection to vhost from the server side, as an operator would."""
    pids = connections(vhost)
    for pid in pids:
        rabbitmqctl("close_connection", pid, "closed by a Roundhouse test")
    return len(pids)


def table(command: str, vhost: str, *columns: str) -> list[dict[str, str]]:
    """The rows of `rabbitmqctl <command> -p vhost columns…` as dicts."""
    out = rabbitmqctl(command, "-p", vhost, "--no-table-headers", *columns)
    return [dict(zip(columns, line.split("\t"), strict=True)) for line in out.splitlines()]


@asynccontextmanager
async def stopped() -> AsyncIterator[None]:
    """RabbitMQ's application stopped (the node stays up); it always starts again.

    rabbitmqctl runs in a thread, so brokers under test keep retrying meanwhile.
    """
    await asyncio.to_thread(rabbitmqctl, "stop_app")
    try:
        yield
    finally:
        await asyncio.to_thread(rabbitmqctl, "start_app")
        await asyncio.to_thread(rabbitmqctl, "await_startup")


def amqp_broker(url: str, publish_timeout: float = 20, connect_timeout: float = 10) -> AmqpBroker:
    """A broker for tests: quick retries (RabbitMQ is local), timeouts shorter than a test's."""
    return AmqpBroker(
        url,
        publish_timeout=publish_timeout,
        connect_timeout=connect_timeout,
        backoff=Backoff(first=0.05, cap=0.5),
    )
