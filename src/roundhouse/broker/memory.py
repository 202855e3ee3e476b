"""The in-process broker for `roundhouse up`: the same semantics as RabbitMQ, in one process.

Messages are copied as RabbitMQ would deliver them, so nothing passes that it could not carry
and no handler shares a dict or list with the publisher or another handler. A message made
of JSON's types only is copied directly, sharing its (immutable) strings: log parts are
most of the traffic, and encoding their text to JSON and back cost more than storing it.
Anything else goes through JSON itself, which converts it or raises TypeError.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from roundhouse.broker.base import (
    Broker,
    Delivery,
    FanoutHandler,
    Handler,
    Message,
    QueueInfo,
    Subscription,
)


class _NotPlain(Exception):
    """A value that JSON would convert (a tuple, a non-string key) or reject."""


def _plain_copy(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is dict and all(type(key) is str for key in value):
        return {key: _plain_copy(item) for key, item in value.items()}
    if kind is list:
        return [_plain_copy(item) for item in value]
    raise _NotPlain


def copied(body: Message) -> Message:
    """The message as a consumer on RabbitMQ would get it (TypeError if it cannot travel)."""
    try:
        result: Message = _plain_copy(body)
    except _NotPlain:
        result = json.loads(json.dumps(body))
    return result


class _MemoryDelivery(Delivery):
    def __init__(self, queue: _Queue, consumer: _Consumer, body: Message, raw: Message) -> None:
        self.body = body
        self._raw = raw
        self._queue = queue
        self._consumer = consumer
        self._settled = False

    async def ack(self) -> None:
        self._settle(requeue=False)

    async def reject(self, requeue: bool = True) -> None:
        self._settle(requeue=requeue)

    def _settle(self, requeue: bool) -> None:
        if self.give_back(requeue):
            self._queue.dispatch()

    def give_back(self, requeue: bool) -> bool:
        """Settle without dispatching; False if it was settled already."""
        if self._settled:
            return False
        self._settled = True
        self._consumer.unacked.pop(self, None)
        if requeue:
            self._queue.messages.appendleft(self._raw)
        return True


@dataclass(eq=False)
class _Consumer:
    handler: Handler
    prefetch: int
    # A dict, not a set: it keeps delivery order, which cancel() gives back to the queue.
    unacked: dict[_MemoryDelivery, None] = field(default_factory=dict)
    active: bool = True


class _Queue:
    def __init__(self, name: str) -> None:
        self.name = name
        self.messages: deque[Message] = deque()  # copies, never handed out themselves
        self.consumers: list[_Consumer] = []
        self._turn = itertools.count()
        self.tasks: set[asyncio.Task[None]] = set()

    def dispatch(self) -> None:
        while self.messages:
            consumer = self._free_consumer()
            if consumer is None:
                return
            raw = self.messages.popleft()
            delivery = _MemoryDelivery(self, consumer, copied(raw), raw)
            consumer.unacked[delivery] = None
            task = asyncio.get_running_loop().create_task(consumer.handler(delivery))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def _free_consumer(self) -> _Consumer | None:
        # Round-robin among consumers with a free slot, like RabbitMQ.
        free = [c for c in self.consumers if c.active and len(c.unacked) < c.prefetch]
        if not free:
            return None
        return free[next(self._turn) % len(free)]


class _QueueSubscription(Subscription):
    def __init__(self, queue: _Queue, consumer: _Consumer) -> None:
        self._queue = queue
        self._consumer = consumer

    async def cancel(self) -> None:
        self._consumer.active = False
        if self._consumer in self._queue.consumers:
            self._queue.consumers.remove(self._consumer)
        # Newest first to the head of the queue, so they end up in their original order, and
        # only then dispatch: another consumer must not get the older ones after the newer.
        for delivery in reversed(list(self._consumer.unacked)):
            delivery.give_back(requeue=True)
        self._queue.dispatch()

    async def set_prefetch(self, prefetch: int) -> None:
        self._consumer.prefetch = prefetch
        self._queue.dispatch()


class _FanoutSubscription(Subscription):
    def __init__(self, subscribers: list[FanoutHandler], handler: FanoutHandler) -> None:
        self._subscribers = subscribers
        self._handler = handler

    async def cancel(self) -> None:
        if self._handler in self._subscribers:
            self._subscribers.remove(self._handler)

    async def set_prefetch(self, prefetch: int) -> None:
        return None


class MemoryBroker(Broker):
    def __init__(self) -> None:
        self._queues: dict[str, _Queue] = {}
        self._exchanges: dict[str, list[FanoutHandler]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _queue(self, name: str) -> _Queue:
        if name not in self._queues:
            self._queues[name] = _Queue(name)
        return self._queues[name]

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        for queue in self._queues.values():
            for consumer in queue.consumers:
                consumer.active = False
            for task in list(queue.tasks):
                task.cancel()

    async def publish(self, queue: str, body: Message) -> None:
        target = self._queue(queue)
        target.messages.append(copied(body))
        target.dispatch()

    async def consume(self, queue: str, handler: Handler, prefetch: int) -> Subscription:
        target = self._queue(queue)
        consumer = _Consumer(handler, prefetch)
        target.consumers.append(consumer)
        target.dispatch()
        return _QueueSubscription(target, consumer)

    async def broadcast(self, exchange: str, body: Message) -> None:
        raw = copied(body)
        for handler in list(self._exchanges.get(exchange, [])):
            task = asyncio.get_running_loop().create_task(handler(copied(raw)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def subscribe(self, exchange: str, handler: FanoutHandler) -> Subscription:
        subscribers = self._exchanges.setdefault(exchange, [])
        subscribers.append(handler)
        return _FanoutSubscription(subscribers, handler)

    async def queue_info(self, queue: str) -> QueueInfo:
        target = self._queue(queue)
        consumers = sum(1 for c in target.consumers if c.active and c.prefetch > 0)
        return QueueInfo(queue, len(target.messages), consumers)
