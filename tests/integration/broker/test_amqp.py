"""What only the RabbitMQ broker does: what it creates on the server, how wrong settings are
reported, and how it rides out outages (its connection closed by the server, a queue deleted,
RabbitMQ stopped and started again).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aio_pika
import pytest

from roundhouse.broker import Broker, BrokerError, BrokerUnavailable, Delivery, DeliveryLost
from roundhouse.broker.amqp import AmqpBroker, Backoff
from roundhouse.broker.base import make_broker
from tests.conftest import free_port, wait_for
from tests.integration.broker import rabbitmq
from tests.integration.broker.recorders import (
    TIMEOUT,
    FanoutRecorder,
    Recorder,
    depth_is,
    publish_numbers,
)

RECOVERY = 30  # seconds a broker may take to come back after an outage


@pytest.fixture
async def amqp(amqp_url: str) -> AsyncIterator[AmqpBroker]:
    broker = rabbitmq.amqp_broker(amqp_url)
    await broker.connect()
    yield broker
    await broker.close()


class AckingLater:
    """Holds deliveries until acking is switched on; from then on acks each, old ones too."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.acking = False
        self.lost = 0

    async def __call__(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        if self.acking:
            await delivery.ack()

    async def ack_all(self) -> None:
        self.acking = True
        for delivery in list(self.deliveries):
            try:
                await delivery.ack()
            except DeliveryLost:
                self.lost += 1

    def numbers(self) -> set[int]:
        return {int(d.body["n"]) for d in self.deliveries}


async def received_numbers(consumer: AckingLater, expected: set[int], timeout: float) -> None:
    async def all_there() -> bool:
        return consumer.numbers() >= expected

    await wait_for(all_there, timeout, f"messages {sorted(expected)}")


async def broadcast_until_heard(broker: Broker, exchange: str, listener: FanoutRecorder) -> None:
    """Broadcasts are not kept for an absent subscriber, so send until one is heard."""

    async def heard() -> bool:
        await broker.broadcast(exchange, {"v": 1, "ping": True})
        return bool(listener.bodies)

    await wait_for(heard, RECOVERY, f"a broadcast on {exchange} to be heard")


class TestSettings:
    def test_make_broker_takes_amqp_and_amqps_urls(self) -> None:
        assert isinstance(make_broker("amqp://guest:guest@localhost:5672/"), AmqpBroker)
        assert isinstance(make_broker("amqps://user:secret@rabbit.example:5671/ci"), AmqpBroker)
        with pytest.raises(ValueError, match="expected memory://, amqp:// or amqps://"):
            make_broker("redis://localhost")

    def test_backoff_grows_with_jitter_up_to_its_cap(self) -> None:
        backoff = Backoff(first=0.1, cap=2.0)
        for attempt, ceiling in [(0, 0.1), (1, 0.2), (3, 0.8), (5, 2.0), (60, 2.0)]:
            delays = {backoff.delay(attempt) for _ in range(50)}
            assert all(ceiling / 2 <= d < ceiling for d in delays)
            assert len(delays) > 1  # jittered, not in step

    async def test_a_wrong_password_fails_at_once_without_showing_it(self, vhost: str) -> None:
        url = rabbitmq.url_of(vhost).replace("guest:guest@", "guest:not-the-password@")
        broker = rabbitmq.amqp_broker(url, connect_timeout=30)
        started = time.monotonic()

        with pytest.raises(
            BrokerError, match=r"refused the connection \(wrong user or password\)"
        ) as caught:
            await broker.connect()

        assert time.monotonic() - started < 10
        assert "not-the-password" not in str(caught.value)
        assert "guest:***@" in str(caught.value)

    async def test_a_missing_vhost_fails_at_once(self) -> None:
        broker = rabbitmq.amqp_broker(rabbitmq.url_of("rh-test-no-such-vhost"), connect_timeout=30)

        with pytest.raises(BrokerError, match="no such vhost, or the user may not use it"):
            await broker.connect()

    async def test_an_unreachable_server_is_given_up_after_the_connect_timeout(self) -> None:
        url = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
        broker = rabbitmq.amqp_broker(url, connect_timeout=0.5)

        with pytest.raises(BrokerUnavailable, match="not reachable"):
            await broker.connect()

    async def test_consuming_needs_a_connection(self, amqp_url: str) -> None:
        broker = rabbitmq.amqp_broker(amqp_url)

        with pytest.raises(BrokerError, match="call connect"):
            await broker.consume("builds.default", Recorder(), prefetch=1)

    async def test_a_classic_queue_of_the_same_name_is_reported(
        self, amqp: AmqpBroker, amqp_url: str
    ) -> None:
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            await channel.declare_queue("builds.old", durable=True)  # classic, not quorum

        with pytest.raises(BrokerError, match="inequivalent arg 'x-queue-type'"):
            await amqp.publish("builds.old", {"v": 1})
        with pytest.raises(BrokerError, match="inequivalent arg 'x-queue-type'"):
            await amqp.consume("builds.old", Recorder(), prefetch=1)
        await amqp.publish("builds.new", {"v": 1})  # the broker is still fine


class TestTopology:
    async def test_queues_are_durable_quorum_and_subscribers_have_private_ones(
        self, amqp: AmqpBroker, vhost: str
    ) -> None:
        await amqp.publish("builds.linux", {"v": 1, "n": 0})
        await amqp.subscribe("worker.commands", FanoutRecorder())

        columns = ("name", "type", "durable", "auto_delete", "exclusive")
        queues = {row["name"]: row for row in rabbitmq.table("list_queues", vhost, *columns)}
        job_queue = queues.pop("builds.linux")
        assert (job_queue["type"], job_queue["durable"]) == ("quorum", "true")
        [(name, private)] = queues.items()
        assert name.startswith("amq.gen-")
        assert (private["type"], private["auto_delete"], private["exclusive"]) == (
            "classic",
            "true",
            "true",
        )
        exchanges = rabbitmq.table("list_exchanges", vhost, "name", "type", "durable")
        assert {"name": "worker.commands", "type": "fanout", "durable": "true"} in exchanges

    async def test_messages_are_persistent_json(self, amqp: AmqpBroker, amqp_url: str) -> None:
        await amqp.publish("builds.linux", {"v": 1, "n": 0})

        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.get_queue("builds.linux", ensure=False)
            message = await queue.get(no_ack=True)

        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert message.content_type == "application/json"
        assert message.body == b'{"v":1,"n":0}'

    async def test_the_connection_has_a_heartbeat_and_a_name(
        self, amqp_url: str, vhost: str
    ) -> None:
        broker = AmqpBroker(amqp_url, name="roundhouse test worker")
        await broker.connect()
        try:
            out = rabbitmq.rabbitmqctl(
                "list_connections", "--no-table-headers", "vhost", "timeout", "client_properties"
            )
        finally:
            await broker.close()

        [row] = [line for line in out.splitlines() if line.startswith(f"{vhost}\t")]
        assert row.split("\t")[1] == "10"
        assert "roundhouse test worker" in row

    async def test_a_message_that_is_not_json_is_dropped(
        self, amqp: AmqpBroker, amqp_url: str
    ) -> None:
        consumer = Recorder(auto_ack=True)
        await amqp.consume("builds.default", consumer, prefetch=1)
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            message = aio_pika.Message(b"\xff not json")
            await channel.default_exchange.publish(message, routing_key="builds.default")

        await amqp.publish("builds.default", {"v": 1, "n": 1})
        await consumer.received(1)
        assert consumer.numbers == [1]
        await depth_is(amqp, "builds.default", 0)


class TestRecovery:
    async def test_a_connection_closed_by_the_server_is_replaced(
        self, amqp: AmqpBroker, vhost: str, queue: str
    ) -> None:
        consumer = AckingLater()
        await amqp.consume(queue, consumer, prefetch=1)
        listener = FanoutRecorder()
        await amqp.subscribe("worker.commands", listener)
        await publish_numbers(amqp, queue, 3)
        await received_numbers(consumer, {0}, TIMEOUT)
        held = consumer.deliveries[0]

        assert await asyncio.to_thread(rabbitmq.close_connections, vhost) == 1

        with pytest.raises(DeliveryLost):
            await held.ack()  # from the old connection: RabbitMQ delivers it again
        await amqp.publish(queue, {"v": 1, "n": 3})  # the publisher carries on

        async def redelivered() -> bool:
            return len(consumer.deliveries) >= 2

        await wait_for(redelivered, RECOVERY, "the held message to come again")
        assert consumer.deliveries[1].body["n"] == 0
        await depth_is(amqp, queue, 3)  # 1 to 3 wait: prefetch 1 on the new connection too
        await consumer.ack_all()
        await received_numbers(consumer, {0, 1, 2, 3}, TIMEOUT)
        await broadcast_until_heard(amqp, "worker.commands", listener)
        assert len(await asyncio.to_thread(rabbitmq.connections, vhost)) == 1

    async def test_a_deleted_queue_is_declared_again(
        self, amqp: AmqpBroker, vhost: str, queue: str
    ) -> None:
        consumer = Recorder(auto_ack=True)
        await amqp.consume(queue, consumer, prefetch=1)
        await publish_numbers(amqp, queue, 1)
        await consumer.received(1)

        await asyncio.to_thread(rabbitmq.rabbitmqctl, "delete_queue", "-p", vhost, queue)

        await amqp.publish(queue, {"v": 1, "n": 1})
        await consumer.received(2, "the consumer to come back to the new queue")
        assert consumer.numbers == [0, 1]

    async def test_publish_gives_up_after_the_publish_timeout(self, vhost: str) -> None:
        # An outage that does not end: the vhost is deleted, so reconnecting keeps failing.
        broker = rabbitmq.amqp_broker(rabbitmq.url_of(vhost), publish_timeout=1)
        await broker.connect()
        try:
            await broker.publish("builds.default", {"v": 1})
            await asyncio.to_thread(rabbitmq.rabbitmqctl, "delete_vhost", vhost)
            started = time.monotonic()

            with pytest.raises(BrokerUnavailable, match=r"within 1 s .*: no connection"):
                await broker.publish("builds.default", {"v": 1})

            assert time.monotonic() - started < 5
        finally:
            await broker.close()

    @pytest.mark.slow
    @pytest.mark.serial
    async def test_nothing_is_lost_when_rabbitmq_restarts(
        self, amqp: AmqpBroker, queue: str
    ) -> None:
        consumer = AckingLater()
        await amqp.consume(queue, consumer, prefetch=2)
        await publish_numbers(amqp, queue, 5)
        await received_numbers(consumer, {0, 1}, TIMEOUT)  # held, not acked: 2 to 4 wait

        async with rabbitmq.stopped():
            late = asyncio.create_task(amqp.publish(queue, {"v": 1, "n": 5}))

        await asyncio.wait_for(late, RECOVERY)  # published once RabbitMQ was back
        await consumer.ack_all()
        await received_numbers(consumer, set(range(6)), RECOVERY)
        assert consumer.lost == 2  # the two held across the restart came again
        await depth_is(amqp, queue, 0)
