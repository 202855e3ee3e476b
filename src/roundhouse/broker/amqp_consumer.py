"""The consuming side of the RabbitMQ broker (amqp.py): queue and fanout subscriptions, and
the deliveries they hand out.

Each subscription has a channel of its own, so that its prefetch and its cancel concern it
alone. A subscription outlives connections: the broker calls detach() when the connection is
lost and attach() with the next one. A channel that closes under a live connection (e.g. an
operator deleted the queue) is repaired the same way, after a short pause.
"""

from __future__ import annotations

import asyncio
import logging
import random
from abc import abstractmethod
from collections.abc import Coroutine
from contextlib import suppress
from typing import Any, Protocol

import aiormq.abc
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from aiormq.abc import DeliveredMessage

from roundhouse.broker.amqp_topology import (
    RETRIABLE_ERRORS,
    bind_private_queue,
    declare_queue,
    decode,
)
from roundhouse.broker.base import (
    Delivery,
    DeliveryLost,
    FanoutHandler,
    Handler,
    Message,
    Subscription,
)

log = logging.getLogger(__name__)
REPAIR_PAUSE = 1.0  # seconds before re-opening a channel the server closed


class Host(Protocol):
    """What a subscription needs from its broker."""

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run work in a task the broker owns (and cancels on close)."""

    def forget(self, subscription: AttachedSubscription) -> None:
        """Stop re-attaching subscription on new connections."""

    def live_connection(self) -> AbstractConnection | None:
        """The current connection, or None while there is none."""


class AttachedSubscription(Subscription):
    """A subscription bound to one channel of the current connection, when there is one."""

    def __init__(self, host: Host) -> None:
        self._host = host
        self._lock = asyncio.Lock()  # attach, cancel and prefetch changes one at a time
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._canceled = False

    @abstractmethod
    async def _open(self, channel: AbstractChannel) -> None:
        """Declare what this subscription needs on a new channel and start consuming."""

    def _forget_channel(self, lost: bool) -> None:
        """The channel is gone, with its consumer; what it held went back to the queue."""
        self._connection = self._channel = None

    async def attach(self, connection: AbstractConnection) -> None:
        async with self._lock:
            if self._canceled or self._connection is connection:
                return
            channel = await connection.channel(publisher_confirms=False)
            self._channel = channel
            try:
                await self._open(channel)
            except BaseException:
                self._forget_channel(lost=True)
                with suppress(*RETRIABLE_ERRORS):
                    await channel.close()
                raise
            self._connection = connection
            # Only now: a channel that never worked is not repaired in a loop.
            channel.close_callbacks.add(self._on_channel_closed)

    def detach(self) -> None:
        """The connection is lost; deliveries still held cannot be acknowledged any more."""
        self._forget_channel(lost=True)

    async def cancel(self) -> None:
        async with self._lock:
            self._canceled = True
            self._host.forget(self)
            channel = self._channel
            self._forget_channel(lost=False)
            # Closing the channel ends its consumer, and RabbitMQ puts every delivery it still
            # held back on the queue, in order.
            if channel is not None and not channel.is_closed:
                with suppress(*RETRIABLE_ERRORS):
                    await channel.close()

    def _on_channel_closed(self, channel: Any, error: BaseException | None) -> None:
        current = self._channel
        if current is not None and channel is current and not self._canceled:
            self._host.spawn(self._repair(current))

    async def _repair(self, broken: AbstractChannel) -> None:
        """Replace broken by a new channel on the live connection."""
        # A pause, with jitter: the server may close the new channel again for the same reason,
        # and if the whole connection is going, the broker re-attaches us by itself.
        await asyncio.sleep(REPAIR_PAUSE * random.uniform(0.5, 1.0))
        async with self._lock:
            if self._channel is not broken:
                return
            self.detach()
        with suppress(*RETRIABLE_ERRORS):
            await broken.close()  # still open if the server only canceled our consumer
        connection = self._host.live_connection()
        if connection is not None:
            log.warning("reopening %r after its channel was closed by the server", self)
            await self.attach(connection)


class QueueSubscription(AttachedSubscription):
    """A consumer of one queue whose prefetch is the number of free slots.

    RabbitMQ applies a prefetch to a consumer when it starts, counting only what that consumer
    receives afterwards (quorum queues offer no channel-wide prefetch). So a prefetch change
    restarts the consumer with the limit minus what is still held; while that is 0 there is no
    consumer at all (a paused subscription), and settling a delivery of an earlier consumer
    frees a slot, so the consumer is restarted again. A message the quorum queue had already
    sent towards the cancelled consumer, but that reached the server's channel after the
    cancel, is returned to the queue by RabbitMQ and never sent to us (rabbit_fifo_client,
    rabbitmq-server#3729): no slot is exceeded and nothing is handled twice, but it comes back
    flagged redelivered and possibly behind later messages.

    Consuming is done on aiormq's channel under aio-pika's: aiormq runs _on_message in the
    task it creates for each delivery, before it answers a basic.cancel sent meanwhile, so a
    delivery that crossed our cancel is counted before the next consumer's prefetch is worked
    out. (aio-pika's consume() calls back one task later, which may be after that answer.)
    """

    def __init__(self, host: Host, queue: str, handler: Handler, prefetch: int) -> None:
        super().__init__(host)
        self.queue = queue
        self._handler = handler
        self._limit = prefetch
        self._underlay: aiormq.abc.AbstractChannel | None = None
        self._consumer_tag: str | None = None
        self._consumer_prefetch = 0
        self._held: dict[AmqpDelivery, None] = {}

    def __repr__(self) -> str:
        return f"<consumer of {self.queue}>"

    async def set_prefetch(self, prefetch: int) -> None:
        async with self._lock:
            self._limit = prefetch
            await self._follow_limit()

    async def settled(self, delivery: AmqpDelivery) -> None:
        """delivery was acked or rejected: its slot is free."""
        async with self._lock:
            if delivery not in self._held:
                return  # its channel is gone, and the count with it
            del self._held[delivery]
            if delivery.consumer_tag != self._consumer_tag:
                await self._follow_limit()  # the running consumer does not know of this slot

    async def _open(self, channel: AbstractChannel) -> None:
        await declare_queue(channel, self.queue)
        self._underlay = await channel.get_underlay_channel()
        self._consumer_tag = None
        # The server cancels our consumer when the queue is deleted; start over on a new channel.
        self._underlay.on_consumer_cancel_callbacks.add(
            lambda _frame: self._host.spawn(self._repair(channel))
        )
        await self._match_limit()

    def _forget_channel(self, lost: bool) -> None:
        super()._forget_channel(lost)
        for delivery in self._held:
            delivery.returned(lost)
        self._held.clear()
        self._underlay = None
        self._consumer_tag = None

    async def _follow_limit(self) -> None:
        try:
            await self._match_limit()
        except RETRIABLE_ERRORS as error:
            # The channel broke: its repair, or the next connection, starts the consumer with
            # the limit as it is then.
            log.debug("%r will follow its new prefetch once re-attached: %s", self, error)

    async def _match_limit(self) -> None:
        """Restart the consumer if its prefetch no longer fits the limit (lock held)."""
        underlay = self._underlay
        if underlay is None:
            return  # detached: attach() will do it
        earlier = sum(1 for d in self._held if d.consumer_tag != self._consumer_tag)
        if self._consumer_tag is not None:
            if self._limit - earlier == self._consumer_prefetch:
                return
            await underlay.basic_cancel(self._consumer_tag)
            self._consumer_tag = None
        free = self._limit - len(self._held)
        if free > 0:
            await underlay.basic_qos(prefetch_count=free)
            ok = await underlay.basic_consume(self.queue, self._on_message)
            self._consumer_tag, self._consumer_prefetch = ok.consumer_tag, free

    async def _on_message(self, message: DeliveredMessage) -> None:
        # Nothing is awaited before the delivery is counted (see the class docstring).
        if self._canceled or message.channel is not self._underlay:
            return  # its channel is closing; RabbitMQ gives the message to someone else
        tag = message.delivery_tag or 0
        try:
            body = decode(message.body)
        except ValueError:
            # Not from Roundhouse. Left unacked it would take a slot forever.
            log.error("dropped a message on %s that is not JSON: %r", self.queue, message.body)
            await message.channel.basic_reject(tag, requeue=False)
            return
        consumer_tag = getattr(message.delivery, "consumer_tag", None)
        delivery = AmqpDelivery(self, message.channel, tag, consumer_tag, body)
        self._held[delivery] = None
        self._host.spawn(self._handler(delivery))


class AmqpDelivery(Delivery):
    def __init__(
        self,
        subscription: QueueSubscription,
        channel: aiormq.abc.AbstractChannel,
        tag: int,
        consumer_tag: str | None,
        body: Message,
    ) -> None:
        self.body = body
        self.consumer_tag = consumer_tag
        self._subscription = subscription
        self._channel = channel
        self._tag = tag
        self._settled = False
        self._lost = False

    def returned(self, lost: bool) -> None:
        """RabbitMQ took the message back: after a cancel (lost=False) acking it does nothing,
        after a lost connection (lost=True) acking it raises DeliveryLost."""
        self._settled = True
        self._lost = lost

    async def ack(self) -> None:
        await self._settle(requeue=None)

    async def reject(self, requeue: bool = True) -> None:
        await self._settle(requeue=requeue)

    async def _settle(self, requeue: bool | None) -> None:
        # requeue=None means ack. A lost delivery is back on the queue already, which is what
        # reject(requeue=True) asks for; anything else cannot be honoured any more.
        if self._lost and requeue is not True:
            raise DeliveryLost(f"message on {self._subscription.queue}: connection lost")
        if self._settled:
            return
        self._settled = True
        try:
            if requeue is None:
                await self._channel.basic_ack(self._tag)
            else:
                await self._channel.basic_reject(self._tag, requeue=requeue)
        except RETRIABLE_ERRORS as error:
            if requeue is not True:
                raise DeliveryLost(f"message on {self._subscription.queue}: {error}") from error
        finally:
            await self._subscription.settled(self)


class FanoutSubscription(AttachedSubscription):
    """A private queue bound to a fanout exchange; bodies go to the handler, no acks."""

    def __init__(self, host: Host, exchange: str, handler: FanoutHandler) -> None:
        super().__init__(host)
        self.exchange = exchange
        self._handler = handler

    def __repr__(self) -> str:
        return f"<subscriber of {self.exchange}>"

    async def set_prefetch(self, prefetch: int) -> None:
        return None

    async def _open(self, channel: AbstractChannel) -> None:
        queue = await bind_private_queue(channel, self.exchange)
        await queue.consume(self._on_message, no_ack=True)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        if self._canceled:
            return
        try:
            body = decode(message.body)
        except ValueError:
            log.error("ignored a broadcast on %s that is not JSON: %r", self.exchange, message.body)
            return
        self._host.spawn(self._handler(body))
