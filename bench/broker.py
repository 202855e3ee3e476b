"""Broker benchmark: publish-to-handler latency, and the rate of persistent messages with
publisher confirms, through the Broker interface that platform and worker use.

    python -m bench.broker [--url URL] [--messages 10000] [--round-trips 500]

URL defaults to amqp://guest:guest@127.0.0.1:5672/ (memory:// measures the in-process
broker). The benchmark uses a queue of its own and deletes it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import aio_pika

from roundhouse.broker import Broker, Delivery, make_broker
from roundhouse.broker.amqp_topology import shown

# About the size of a log part (the most frequent message).
BODY = {"v": 1, "job_id": 1, "attempt": 1, "number": 0, "content": "x" * 400, "final": False}


async def round_trips(broker: Broker, queue: str, count: int) -> list[float]:
    """Seconds from publish() being called to the handler running, one message at a time."""
    arrived: asyncio.Queue[float] = asyncio.Queue()

    async def handler(delivery: Delivery) -> None:
        arrived.put_nowait(time.perf_counter())
        await delivery.ack()

    subscription = await broker.consume(queue, handler, prefetch=1)
    latencies = []
    for _ in range(count):
        sent = time.perf_counter()
        await broker.publish(queue, BODY)
        latencies.append(await arrived.get() - sent)
    await subscription.cancel()
    return latencies


async def publish_all(broker: Broker, queue: str, count: int, in_flight: int) -> float:
    """Seconds to publish count messages, each confirmed, at most in_flight at a time."""
    slots = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with slots:
            await broker.publish(queue, BODY)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return time.perf_counter() - started


async def consume_all(broker: Broker, queue: str, count: int, prefetch: int) -> float:
    """Seconds to receive and ack count messages that wait on the queue."""
    done = asyncio.Event()
    received = 0

    async def handler(delivery: Delivery) -> None:
        nonlocal received
        await delivery.ack()
        received += 1
        if received == count:
            done.set()

    started = time.perf_counter()
    subscription = await broker.consume(queue, handler, prefetch=prefetch)
    await done.wait()
    elapsed = time.perf_counter() - started
    await subscription.cancel()
    return elapsed


async def delete_queue(url: str, queue: str) -> None:
    if url.startswith(("amqp://", "amqps://")):
        async with await aio_pika.connect(url) as connection:
            channel = await connection.channel()
            await channel.queue_delete(queue)


def rate(count: int, seconds: float) -> str:
    return f"{seconds:.2f} s, {count / seconds:,.0f} msg/s"


async def main(url: str, messages: int, trips: int) -> None:
    broker = make_broker(url)
    queue = f"bench.{uuid.uuid4().hex[:8]}"
    await broker.connect()
    try:
        print(f"broker {shown(url)}, queue {queue}, body {len(str(BODY))} bytes")
        latencies = sorted(await round_trips(broker, queue, trips))
        median = statistics.median(latencies) * 1000
        p95 = latencies[int(len(latencies) * 0.95)] * 1000
        print(f"round trip, publish to handler ({trips} messages):", end=" ")
        print(f"median {median:.2f} ms, p95 {p95:.2f} ms")
        for in_flight in (1, 100):
            seconds = await publish_all(broker, queue, messages, in_flight)
            print(f"publish {messages} persistent, confirmed, {in_flight} in flight:", end=" ")
            print(rate(messages, seconds))
        seconds = await consume_all(broker, queue, 2 * messages, prefetch=100)
        print(f"consume and ack {2 * messages} (prefetch 100): {rate(2 * messages, seconds)}")
    finally:
        await broker.close()
        await delete_queue(url, queue)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--round-trips", type=int, default=500)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.url, arguments.messages, arguments.round_trips))
