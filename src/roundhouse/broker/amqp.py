"""The RabbitMQ broker (aio-pika), for `roundhouse platform` and `roundhouse worker`.

One connection per broker. Publishing uses one channel in confirm mode: publish() returns
once RabbitMQ has the message (on a quorum queue: on a majority of the cluster). Each
subscription has a channel of its own (amqp_consumer.py); what is created on the server is in
amqp_topology.py.

When the connection is lost, a supervisor task reconnects forever, with exponential backoff
and jitter, and re-attaches every subscription. Meanwhile publish() waits and retries until
the message is confirmed or the publish timeout has passed (then BrokerUnavailable); nothing
is dropped silently. Deliveries that were not acknowledged come back from RabbitMQ, to this
consumer or another: delivery is at least once (see base.py).

aio-pika's connect_robust is not used: it retries at a fixed interval, does not replay a
publish that was in flight, and would restore a consumer with a stale prefetch.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TypeVar

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection

from roundhouse.broker.amqp_consumer import (
    AttachedSubscription,
    FanoutSubscription,
    QueueSubscription,
)
from roundhouse.broker.amqp_topology import (
    FATAL_CHANNEL_ERRORS,
    FATAL_CONNECT_ERRORS,
    RETRIABLE_ERRORS,
    connection_url,
    declare_fanout,
    declare_queue,
    encode,
    persistent,
    refusal,
    shown,
    transient,
)
from roundhouse.broker.base import (
    Broker,
    BrokerError,
    BrokerUnavailable,
    FanoutHandler,
    Handler,
    Message,
    QueueInfo,
    Subscription,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Exponential delays with jitter: attempt n waits first·2ⁿ seconds, at most cap, times a
    random factor in [0.5, 1), so that many clients cut off together do not retry in step."""

    first: float = 0.1
    cap: float = 10.0

    def delay(self, attempt: int) -> float:
        return min(self.cap, self.first * 2 ** min(attempt, 30)) * random.uniform(0.5, 1.0)


class AmqpBroker(Broker):
    def __init__(
        self,
        url: str,
        *,
        publish_timeout: float = 60.0,
        connect_timeout: float = 30.0,
        backoff: Backoff | None = None,
        name: str | None = None,
    ) -> None:
        """publish_timeout bounds how long publish, broadcast and queue_info wait out an outage;
        connect_timeout, how long connect() waits for RabbitMQ to be reachable at all. name
        labels the connection in RabbitMQ's tools (rabbitmqctl list_connections client_properties).
        """
        self._url = url
        self._publish_timeout = publish_timeout
        self._connect_timeout = connect_timeout
        self._backoff = backoff or Backoff()
        self._name = name or f"roundhouse {socket.gethostname()} pid {os.getpid()}"
        self._connection: AbstractConnection | None = None
        self._connected = asyncio.Event()  # set while self._connection is usable
        self._connected_at = 0.0  # loop time when it last became usable
        self._lost = asyncio.Event()  # set when the current connection is gone
        self._supervisor: asyncio.Task[None] | None = None
        self._publisher: AbstractChannel | None = None
        self._publisher_lock = asyncio.Lock()
        self._declared: set[tuple[str, str]] = set()  # (kind, name) on the publisher channel
        self._subscriptions: set[AttachedSubscription] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- connection -------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect, retrying until connect_timeout; wrong credentials or vhost fail at once.
        Connecting a connected broker does nothing (platform and worker may share one)."""
        if self._supervisor is not None:
            return
        deadline = asyncio.get_running_loop().time() + self._connect_timeout
        connection = await self._connect(deadline)
        await self._adopt(connection)
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())

    async def close(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        self._connected.clear()
        for subscription in list(self._subscriptions):
            subscription.detach()
        self._subscriptions.clear()
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
        for task in list(self._tasks):
            task.cancel()

    def connected_for(self) -> float:
        if not self._connected.is_set():
            return 0.0
        return asyncio.get_running_loop().time() - self._connected_at

    def live_connection(self) -> AbstractConnection | None:
        return self._connection if self._connected.is_set() else None

    async def _connect(self, deadline: float | None) -> AbstractConnection:
        """A new connection; with no deadline, keep trying forever."""
        loop = asyncio.get_running_loop()
        for attempt in itertools.count():
            try:
                return await aio_pika.connect(
                    connection_url(self._url),
                    client_properties={"connection_name": self._name},
                    timeout=self._connect_timeout,
                )
            except FATAL_CONNECT_ERRORS as error:
                problem = (
                    f"RabbitMQ at {shown(self._url)} refused the connection "
                    f"({refusal(error)}); check the user, password and vhost in broker_url"
                )
                if deadline is not None:
                    raise BrokerError(problem) from error
                log.error("%s; retrying", problem)
            except RETRIABLE_ERRORS as error:
                if deadline is not None and loop.time() >= deadline:
                    raise BrokerUnavailable(
                        f"RabbitMQ at {shown(self._url)} is not reachable: {error}"
                    ) from error
                log.debug("RabbitMQ not reachable yet: %s", error)
            delay = self._backoff.delay(attempt)
            if deadline is not None:
                delay = max(0.0, min(delay, deadline - loop.time()))
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _adopt(self, connection: AbstractConnection) -> None:
        """Make connection the current one and attach every subscription to it."""
        lost = asyncio.Event()

        def on_close(closed: Any, error: BaseException | None) -> None:
            if closed is self._connection:
                self._connected.clear()
            lost.set()

        connection.close_callbacks.add(on_close)
        self._connection, self._lost = connection, lost
        self._publisher = None
        self._connected_at = asyncio.get_running_loop().time()
        self._connected.set()
        for subscription in list(self._subscriptions):
            try:
                await subscription.attach(connection)
            except Exception:
                if lost.is_set():
                    return  # the supervisor starts over with the next connection
                # One subscription must not keep the others (or the supervisor) down.
                log.exception(
                    "could not resume %r; trying again on the next connection", subscription
                )

    async def _supervise(self) -> None:
        """Replace the connection whenever it is lost, for as long as the broker is open."""
        while True:
            await self._lost.wait()
            for subscription in list(self._subscriptions):
                subscription.detach()
            log.warning("lost the connection to RabbitMQ at %s; reconnecting", shown(self._url))
            await self._adopt(await self._connect(deadline=None))
            log.warning("reconnected to RabbitMQ at %s", shown(self._url))

    # -- Host of the subscriptions (amqp_consumer.Host) ---------------------------------------

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a broker task failed", exc_info=task.exception())

    def forget(self, subscription: AttachedSubscription) -> None:
        self._subscriptions.discard(subscription)

    # -- the Broker interface ---------------------------------------------------------------

    async def publish(self, queue: str, body: Message) -> None:
        raw = encode(body)

        async def send(channel: AbstractChannel) -> None:
            await self._declare_queue(channel, queue)
            await channel.default_exchange.publish(persistent(raw), routing_key=queue)

        await self._retrying(f"publish to {queue}", send)

    async def broadcast(self, exchange: str, body: Message) -> None:
        raw = encode(body)

        async def send(channel: AbstractChannel) -> None:
            if ("exchange", exchange) not in self._declared:
                await declare_fanout(channel, exchange)
                self._declared.add(("exchange", exchange))
            fanout = await channel.get_exchange(exchange, ensure=False)
            # Not mandatory: with no subscriber at all the message is simply not kept.
            await fanout.publish(transient(raw), routing_key="", mandatory=False)

        await self._retrying(f"broadcast on {exchange}", send)

    async def queue_info(self, queue: str) -> QueueInfo:
        async def ask(channel: AbstractChannel) -> QueueInfo:
            result = (await declare_queue(channel, queue)).declaration_result
            return QueueInfo(queue, result.message_count or 0, result.consumer_count or 0)

        return await self._retrying(f"read queue {queue}", ask)

    async def consume(self, queue: str, handler: Handler, prefetch: int) -> Subscription:
        subscription = QueueSubscription(self, queue, handler, prefetch)
        await self._start(subscription, f"consume {queue}")
        return subscription

    async def subscribe(self, exchange: str, handler: FanoutHandler) -> Subscription:
        subscription = FanoutSubscription(self, exchange, handler)
        await self._start(subscription, f"subscribe to {exchange}")
        return subscription

    # -- helpers ----------------------------------------------------------------------------

    async def _start(self, subscription: AttachedSubscription, what: str) -> None:
        """Attach now; if the connection is down, the supervisor attaches it on the next one."""
        if self._supervisor is None:
            raise BrokerError(f"cannot {what}: the broker is not connected (call connect())")
        self._subscriptions.add(subscription)
        connection = self.live_connection()
        if connection is None:
            return
        try:
            await subscription.attach(connection)
        except (*FATAL_CHANNEL_ERRORS, *RETRIABLE_ERRORS) as error:
            if self.live_connection() is not connection:
                return  # lost meanwhile; it is attached with the next connection
            await subscription.cancel()
            raise BrokerError(f"cannot {what}: {error}") from error

    async def _declare_queue(self, channel: AbstractChannel, queue: str) -> None:
        if ("queue", queue) not in self._declared:
            await declare_queue(channel, queue)
            self._declared.add(("queue", queue))

    async def _retrying(self, what: str, operation: Callable[[AbstractChannel], Awaitable[T]]) -> T:
        """operation on the publisher channel, tried again on new channels and connections
        until it succeeds or the publish timeout has passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._publish_timeout
        for attempt in itertools.count():
            try:
                # Bounded: on a connection that died silently, a confirm would only fail once
                # the heartbeat notices, possibly after the deadline.
                async with asyncio.timeout_at(deadline):
                    return await operation(await self._publisher_channel())
            except FATAL_CHANNEL_ERRORS as error:
                raise BrokerError(f"cannot {what}: {error}") from error
            except RETRIABLE_ERRORS as error:
                failure = error
            # The channel may be new next time, or the queue deleted: declare again.
            self._declared.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                reason = str(failure) or "no confirmation in time"
                if not self._connected.is_set():
                    reason = "no connection"
                raise BrokerUnavailable(
                    f"could not {what} within {self._publish_timeout:g} s "
                    f"(RabbitMQ at {shown(self._url)}): {reason}"
                ) from failure
            log.debug("could not %s yet (%s); trying again", what, failure)
            await asyncio.sleep(min(self._backoff.delay(attempt), remaining))
        raise AssertionError("unreachable")

    async def _publisher_channel(self) -> AbstractChannel:
        """The confirm-mode channel of the current connection, once there is one."""
        await self._connected.wait()
        async with self._publisher_lock:
            connection = self.live_connection()
            if connection is None:
                raise ConnectionError("the connection was lost")
            if self._publisher is None or self._publisher.is_closed:
                # on_return_raises: a message no queue took (the queue was deleted) raises,
                # and is published again after declaring the queue anew.
                try:
                    self._publisher = await connection.channel(on_return_raises=True)
                except RuntimeError as error:
                    # aiormq's word for a connection closed before the supervisor noticed.
                    raise ConnectionError(f"the connection was lost: {error}") from error
                self._declared.clear()
            return self._publisher
