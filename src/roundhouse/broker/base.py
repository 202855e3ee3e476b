"""The Broker interface: named durable queues with acknowledgements, plus fanout exchanges.

The in-process broker (memory.py) and RabbitMQ (amqp.py) implement it; platform and worker
only ever see this interface, so swapping one for the other changes no caller.

Delivery is at least once. A delivery that is not acknowledged when its consumer's connection
is lost goes back to the queue and is delivered again, possibly to another consumer, and a
publish whose confirmation was lost is sent again. Every consumer must therefore be idempotent
(DESIGN.md, principle 2).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

Message = dict[str, Any]


class BrokerError(Exception):
    """A broker operation that did not happen; the message says what and why."""


class BrokerUnavailable(BrokerError):
    """The broker could not be reached, or did not confirm, within the allowed time."""


class DeliveryLost(BrokerError):
    """The connection a delivery came on is gone; the broker will deliver it again."""


class Delivery(ABC):
    """One message handed to a consumer; it stays owed to the queue until acked."""

    body: Message

    @abstractmethod
    async def ack(self) -> None:
        """Remove the message from the queue. Raises DeliveryLost if that can no longer happen."""

    @abstractmethod
    async def reject(self, requeue: bool = True) -> None:
        """Give the message back to the queue (requeue) or drop it. Where in the queue it goes
        back is up to the broker (RabbitMQ quorum queues: at the end)."""

    async def ack_unless_lost(self) -> bool:
        """ack(); False if the connection it came on is gone, and with it the message, which
        the broker delivers again (to an idempotent consumer, that is as good)."""
        try:
            await self.ack()
        except DeliveryLost:
            return False
        return True


Handler = Callable[[Delivery], Coroutine[Any, Any, None]]
FanoutHandler = Callable[[Message], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class QueueInfo:
    """depth: messages waiting (delivered, unacknowledged ones are not counted); consumers:
    subscriptions able to take messages (one paused by set_prefetch(0) is not counted).
    """

    name: str
    depth: int
    consumers: int


class Subscription(ABC):
    @abstractmethod
    async def cancel(self) -> None:
        """Stop receiving; unacked deliveries go back to the queue."""

    @abstractmethod
    async def set_prefetch(self, prefetch: int) -> None:
        """Change how many unacked deliveries this consumer may hold (free job slots).

        Deliveries it already holds count against the new limit; 0 pauses the consumer.
        The order of the messages still waiting may change: on RabbitMQ, one that was on its
        way to this consumer when it was restarted goes back to the queue, not to the handler,
        and may be delivered after later ones (flagged redelivered, yet handled only once).
        """


class Broker(ABC):
    @abstractmethod
    async def connect(self) -> None:
        """Get ready; calling it again on a connected broker does nothing."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def publish(self, queue: str, body: Message) -> None:
        """Persist body on the named queue (declared on first use); returns once confirmed.

        A body JSON cannot carry raises TypeError. While the broker is unreachable this waits
        and retries; BrokerUnavailable if it still is after the broker's publish timeout.
        """

    @abstractmethod
    async def consume(self, queue: str, handler: Handler, prefetch: int) -> Subscription:
        """Call handler for each delivery, at most `prefetch` unacked at a time."""

    @abstractmethod
    async def broadcast(self, exchange: str, body: Message) -> None:
        """Send body to every current subscriber of a fanout exchange (not stored: a subscriber
        that is disconnected at that moment misses it)."""

    @abstractmethod
    async def subscribe(self, exchange: str, handler: FanoutHandler) -> Subscription: ...

    @abstractmethod
    async def queue_info(self, queue: str) -> QueueInfo: ...

    def connected_for(self) -> float:
        """Seconds the broker has been reachable without a break (0 while it is not): what
        was published meanwhile could reach this process. The in-process broker always is."""
        return float("inf")


def make_broker(url: str) -> Broker:
    """The broker for a broker_url setting."""
    if url.startswith("memory://"):
        from roundhouse.broker.memory import MemoryBroker

        return MemoryBroker()
    if url.startswith(("amqp://", "amqps://")):
        from roundhouse.broker.amqp import AmqpBroker

        return AmqpBroker(url)
    raise ValueError(f"broker_url {url!r}: expected memory://, amqp:// or amqps://")
