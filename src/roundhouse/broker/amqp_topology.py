"""What the RabbitMQ broker (amqp.py) creates on the server, and how messages are encoded.

- Every named queue (`builds.<queue>`, `reporting.jobs.builds`, `reporting.jobs.logs`,
  `reporting.workers`) is a durable quorum queue (the reporting ones with the arguments of
  QUEUE_ARGUMENTS), declared by whoever first publishes to it,
  consumes from it or asks about it. Quorum queues are replicated on a cluster and keep their
  messages across a restart; messages are also published persistent, so a classic queue that
  an operator declared by hand keeps them too.
- Every fanout exchange (`worker.commands`) is durable, so a broadcast never fails for want
  of it; each subscriber binds its own exclusive, auto-delete, server-named queue
  (`amq.gen-…`), which disappears with the subscriber.
- Bodies are JSON (UTF-8), content type application/json.
"""

from __future__ import annotations

import json

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue
from aiormq.exceptions import (
    AMQPError,
    AuthenticationError,
    ChannelAccessRefused,
    ChannelInvalidStateError,
    ChannelPreconditionFailed,
    InvalidFrameError,
    ProbableAuthenticationError,
)
from pamqp.common import FieldTable
from yarl import URL

from roundhouse.broker.base import Message
from roundhouse.protocol import LOG_QUEUE, STATE_QUEUE, WORKER_QUEUE

QUORUM: FieldTable = {"x-queue-type": "quorum"}
# The platform's event queues have one active consumer at a time (the others of several
# platform processes stand by): events of one job are then applied in the order sent.
SINGLE_ACTIVE: FieldTable = {**QUORUM, "x-single-active-consumer": True}
QUEUE_ARGUMENTS: dict[str, FieldTable] = {
    STATE_QUEUE: SINGLE_ACTIVE,
    LOG_QUEUE: SINGLE_ACTIVE,
    # A heartbeat nobody read within a minute says nothing any more.
    WORKER_QUEUE: {**QUORUM, "x-message-ttl": 60_000},
}
HEARTBEAT_SECONDS = 10  # as Travis workers: a dead peer is noticed within half a minute

# Retrying cannot fix these: when connecting, wrong credentials or a missing vhost (RabbitMQ
# answers the open with a close, which aiormq reports as an invalid frame); on a channel, no
# permission, or a queue that exists with other arguments (e.g. a classic queue where we
# declare a quorum one).
FATAL_CONNECT_ERRORS = (AuthenticationError, ProbableAuthenticationError, InvalidFrameError)
FATAL_CHANNEL_ERRORS = (ChannelAccessRefused, ChannelPreconditionFailed)
# What a lost connection or channel looks like; worth another try on the next connection.
RETRIABLE_ERRORS = (AMQPError, OSError, ChannelInvalidStateError)


def refusal(error: BaseException) -> str:
    """Why RabbitMQ refused to open a connection, in words (one of FATAL_CONNECT_ERRORS)."""
    if isinstance(error, InvalidFrameError):
        return "no such vhost, or the user may not use it"
    return "wrong user or password"


def encode(body: Message) -> bytes:
    """The JSON bytes of body; TypeError for anything JSON cannot carry."""
    return json.dumps(body, separators=(",", ":")).encode()


def decode(raw: bytes) -> Message:
    body: Message = json.loads(raw)
    return body


def persistent(raw: bytes) -> aio_pika.Message:
    return aio_pika.Message(
        raw,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


def transient(raw: bytes) -> aio_pika.Message:
    return aio_pika.Message(raw, content_type="application/json")


async def declare_queue(channel: AbstractChannel, name: str) -> AbstractQueue:
    """The named durable quorum queue; its declaration result carries depth and consumers."""
    return await channel.declare_queue(
        name, durable=True, arguments=QUEUE_ARGUMENTS.get(name, QUORUM)
    )


async def declare_fanout(channel: AbstractChannel, name: str) -> AbstractExchange:
    return await channel.declare_exchange(name, aio_pika.ExchangeType.FANOUT, durable=True)


async def bind_private_queue(channel: AbstractChannel, exchange: str) -> AbstractQueue:
    """A new exclusive, auto-delete queue bound to the fanout exchange."""
    fanout = await declare_fanout(channel, exchange)
    queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
    await queue.bind(fanout)
    return queue


def connection_url(url: str) -> str:
    """url with the AMQP heartbeat set, unless the operator chose one in the URL."""
    parsed = URL(url)
    if "heartbeat" in parsed.query:
        return url
    return str(parsed.update_query(heartbeat=HEARTBEAT_SECONDS))


def shown(url: str) -> str:
    """url as it may appear in a message: without the password."""
    parsed = URL(url)
    return str(parsed.with_password("***")) if parsed.password else url
