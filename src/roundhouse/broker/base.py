"""The Broker interface: named durable queues with acknowledgements, plus fanout exchanges.

The in-process broker (memory.py) and RabbitMQ (amqp.py) implement it; platform and worker
only ever see this interface, so swapping one for the other changes no caller.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

Message = dict[str, Any]


class Delivery(ABC):
    """One message handed to a consumer; it stays owed to the queue until acked."""

    body: Message

    @abstractmethod
    async def ack(self) -> None: ...

    @abstractmethod
    async def reject(self, requeue: bool = True) -> None: ...


Handler = Callable[[Delivery], Coroutine[Any, Any, None]]
FanoutHandler = Callable[[Message], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class QueueInfo:
    name: str
    depth: int
    consumers: int


class Subscription(ABC):
    @abstractmethod
    async def cancel(self) -> None:
        """Stop receiving; unacked deliveries go back to the queue."""

    @abstractmethod
    async def set_prefetch(self, prefetch: int) -> None:
        """Change how many unacked deliveries this consumer may hold (free job slots)."""


class Broker(ABC):
    @abstractmethod
    async def connect(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def publish(self, queue: str, body: Message) -> None:
        """Persist body on the named queue (declared on first use); returns once confirmed."""

    @abstractmethod
    async def consume(self, queue: str, handler: Handler, prefetch: int) -> Subscription:
        """Call handler for each delivery, at most `prefetch` unacked at a time."""

    @abstractmethod
    async def broadcast(self, exchange: str, body: Message) -> None:
        """Send body to every current subscriber of a fanout exchange (not stored)."""

    @abstractmethod
    async def subscribe(self, exchange: str, handler: FanoutHandler) -> Subscription: ...

    @abstractmethod
    async def queue_info(self, queue: str) -> QueueInfo: ...


def make_broker(url: str) -> Broker:
    """The broker for a broker_url setting."""
    if url.startswith("memory://"):
        from roundhouse.broker.memory import MemoryBroker

        return MemoryBroker()
    raise ValueError(f"broker_url {url!r}: only memory:// is available in this version")
