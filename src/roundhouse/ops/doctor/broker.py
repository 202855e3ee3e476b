"""Broker checks: RabbitMQ reachable, the user authenticated, the vhost there (three distinct
failures), and the queues a worker will consume.

Used on both sides: the platform's and the worker's broker_url are checked the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import suppress

import aio_pika
from aio_pika.abc import AbstractConnection
from aiormq.exceptions import (
    AMQPError,
    AuthenticationError,
    ChannelNotFoundEntity,
    InvalidFrameError,
    ProbableAuthenticationError,
)
from yarl import URL

from roundhouse.broker.amqp_topology import shown
from roundhouse.broker.base import QueueInfo
from roundhouse.ops.doctor.check import Check, fail, ok, plural, warn

TIMEOUT = 5.0


def vhost_of(url: URL) -> str:
    """The vhost an AMQP URL names: its path without the leading slash ("/" when empty)."""
    return url.path[1:] or "/"


async def connect(broker_url: str) -> tuple[Check, AbstractConnection | None]:
    """The broker check, and the open connection when it passed (the caller closes it)."""
    if broker_url.startswith("memory://"):
        return ok("broker", "the in-process broker of `roundhouse up`: nothing to reach"), None
    url = URL(broker_url)
    where = shown(broker_url)
    host, port = url.host or "localhost", url.port or (5671 if url.scheme == "amqps" else 5672)
    user, vhost = url.user or "guest", vhost_of(url)
    try:
        connection = await aio_pika.connect(broker_url, timeout=TIMEOUT)
    except (AuthenticationError, ProbableAuthenticationError):
        return fail(
            "broker",
            f"RabbitMQ at {where} refused the login of user {user!r}: wrong user or password",
            f"fix the user and password in broker_url, or create the user: `rabbitmqctl "
            f"add_user {user} PASSWORD`",
        ), None
    except InvalidFrameError:
        return fail(
            "broker",
            f"RabbitMQ at {where} accepted user {user!r} but not on vhost {vhost!r}: the vhost "
            "does not exist or the user may not use it",
            f"`rabbitmqctl add_vhost {vhost}` and `rabbitmqctl set_permissions -p {vhost} {user} "
            "'.*' '.*' '.*'`, or fix the vhost (the path) of broker_url",
        ), None
    except (OSError, AMQPError, TimeoutError) as error:
        reason = str(error) or type(error).__name__
        return fail(
            "broker",
            f"RabbitMQ at {where} is not reachable: nothing answers on {host} port {port} "
            f"({reason})",
            f"start RabbitMQ, open TCP port {port} from this machine to {host} (firewall, "
            "security group), or fix the host and port in broker_url",
        ), None
    return ok(
        "broker", f"RabbitMQ at {where} answers; user {user!r} is logged in on vhost {vhost!r}"
    ), connection


async def passive_info(connection: AbstractConnection, name: str) -> QueueInfo | None:
    """A queue's messages and consumers, or None when it does not exist (nothing declared)."""
    channel = await connection.channel()
    try:
        queue = await channel.declare_queue(name, passive=True)
    except ChannelNotFoundEntity:
        return None
    finally:
        with suppress(AMQPError, RuntimeError):
            await channel.close()
    result = queue.declaration_result
    return QueueInfo(name, result.message_count or 0, result.consumer_count or 0)


def queue_info_of(connection: AbstractConnection) -> Callable[[str], Awaitable[QueueInfo]]:
    """queue_info for the unserved-queue check, on the doctor's own connection."""

    async def info(name: str) -> QueueInfo:
        return await passive_info(connection, name) or QueueInfo(name, 0, 0)

    return info


async def consumed_queues(connection: AbstractConnection, queues: list[str]) -> list[Check]:
    """Whether each queue a worker will consume exists, with its messages and consumers."""
    checks = []
    for name in queues:
        info = await passive_info(connection, name)
        if info is None:
            checks.append(
                warn(
                    f"queue {name}",
                    f"queue {name} does not exist in RabbitMQ yet: no job was ever routed to it "
                    "and no worker consumed it",
                    "it is created when this worker starts; check the name against the "
                    "platform's default_queue and queue_rules",
                )
            )
        else:
            checks.append(
                ok(
                    f"queue {name}",
                    f"queue {name} exists: {plural(info.depth, 'message')} waiting, "
                    f"{plural(info.consumers, 'consumer')}",
                )
            )
    return checks
