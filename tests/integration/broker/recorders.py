"""Consumers that record what they get, and waits on a queue's depth, for the broker tests."""

from __future__ import annotations

from roundhouse.broker import Broker, Delivery
from roundhouse.broker.base import Message
from tests.conftest import wait_for

TIMEOUT = 5


class Recorder:
    """A consumer that keeps every delivery; with auto_ack it acks each at once."""

    def __init__(self, auto_ack: bool = False) -> None:
        self.auto_ack = auto_ack
        self.deliveries: list[Delivery] = []

    async def __call__(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        if self.auto_ack:
            await delivery.ack()

    @property
    def numbers(self) -> list[int]:
        return [int(d.body["n"]) for d in self.deliveries]

    async def received(self, count: int, what: str = "") -> None:
        async def enough() -> bool:
            return len(self.deliveries) >= count

        await wait_for(enough, TIMEOUT, what or f"{count} deliveries")


class FanoutRecorder:
    def __init__(self) -> None:
        self.bodies: list[Message] = []

    async def __call__(self, body: Message) -> None:
        self.bodies.append(body)


async def depth_is(broker: Broker, queue: str, depth: int) -> None:
    async def check() -> bool:
        return (await broker.queue_info(queue)).depth == depth

    await wait_for(check, TIMEOUT, f"queue {queue} to hold {depth} messages")


async def publish_numbers(broker: Broker, queue: str, count: int) -> None:
    for n in range(count):
        await broker.publish(queue, {"v": 1, "n": n})
