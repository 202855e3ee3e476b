"""The Broker contract (broker/base.py), run against the in-process broker and RabbitMQ.

Only the interface is used, so that both brokers are held to exactly the same behaviour.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from roundhouse.broker import Broker, Delivery, Subscription
from roundhouse.broker.base import Message
from tests.conftest import wait_for
from tests.integration.broker.recorders import (
    TIMEOUT,
    FanoutRecorder,
    Recorder,
    depth_is,
    publish_numbers,
)


class TestBrokerContract:
    async def test_connecting_twice_is_harmless(self, broker: Broker, queue: str) -> None:
        await broker.connect()  # e.g. `roundhouse up`: platform and worker share one broker
        consumer = Recorder(auto_ack=True)
        await broker.consume(queue, consumer, prefetch=1)

        await publish_numbers(broker, queue, 2)
        await consumer.received(2)
        assert consumer.numbers == [0, 1]

    async def test_published_messages_arrive_in_order(self, broker: Broker, queue: str) -> None:
        await publish_numbers(broker, queue, 5)
        consumer = Recorder(auto_ack=True)

        await broker.consume(queue, consumer, prefetch=10)
        await consumer.received(5)

        assert consumer.numbers == [0, 1, 2, 3, 4]
        assert consumer.deliveries[0].body == {"v": 1, "n": 0}
        await depth_is(broker, queue, 0)

    async def test_messages_published_after_consume_arrive_in_order(
        self, broker: Broker, queue: str
    ) -> None:
        consumer = Recorder(auto_ack=True)
        await broker.consume(queue, consumer, prefetch=1)

        await publish_numbers(broker, queue, 4)
        await consumer.received(4)

        assert consumer.numbers == [0, 1, 2, 3]

    async def test_prefetch_limits_unacked_deliveries(self, broker: Broker, queue: str) -> None:
        consumer = Recorder()
        await broker.consume(queue, consumer, prefetch=2)
        await publish_numbers(broker, queue, 5)

        await consumer.received(2)
        await depth_is(broker, queue, 3)
        assert consumer.numbers == [0, 1]

        await consumer.deliveries[0].ack()
        await consumer.received(3)
        await depth_is(broker, queue, 2)
        assert consumer.numbers == [0, 1, 2]

    async def test_prefetch_zero_pauses_and_raising_it_resumes(
        self, broker: Broker, queue: str
    ) -> None:
        consumer = Recorder(auto_ack=True)
        subscription = await broker.consume(queue, consumer, prefetch=1)
        await subscription.set_prefetch(0)

        await publish_numbers(broker, queue, 3)
        await depth_is(broker, queue, 3)
        assert consumer.deliveries == []

        await subscription.set_prefetch(2)
        await consumer.received(3)
        assert consumer.numbers == [0, 1, 2]
        await depth_is(broker, queue, 0)

    async def test_lowering_prefetch_holds_back_new_deliveries(
        self, broker: Broker, queue: str
    ) -> None:
        consumer = Recorder()
        subscription = await broker.consume(queue, consumer, prefetch=2)
        await publish_numbers(broker, queue, 4)
        await consumer.received(2)

        await subscription.set_prefetch(1)
        await consumer.deliveries[0].ack()  # still one unacked: no free slot at prefetch 1
        await depth_is(broker, queue, 2)
        assert consumer.numbers == [0, 1]

        await consumer.deliveries[1].ack()
        await consumer.received(3)
        assert consumer.numbers == [0, 1, 2]

    async def test_raising_prefetch_counts_what_is_held(self, broker: Broker, queue: str) -> None:
        consumer = Recorder()
        subscription = await broker.consume(queue, consumer, prefetch=1)
        await publish_numbers(broker, queue, 5)
        await consumer.received(1)

        await subscription.set_prefetch(3)
        await consumer.received(3)
        await depth_is(broker, queue, 2)
        assert consumer.numbers == [0, 1, 2]

    async def test_a_handler_may_change_its_prefetch(self, broker: Broker, queue: str) -> None:
        """The worker's way: a job takes a slot when it arrives and frees it when it is done.

        Which waiting message fills a slot is not promised (see Subscription.set_prefetch):
        on RabbitMQ, a message on its way to the consumer that the handler's set_prefetch
        restarts goes back to the queue unseen, and may come after a later one.
        """
        slots = 2
        running: list[Delivery] = []
        started: list[int] = []
        most_running = 0
        subscription: Subscription | None = None

        async def take_job(delivery: Delivery) -> None:
            nonlocal most_running
            running.append(delivery)
            started.append(int(delivery.body["n"]))
            most_running = max(most_running, len(running))
            assert subscription is not None
            await subscription.set_prefetch(slots - len(running))
            await delivery.ack()

        subscription = await broker.consume(queue, take_job, prefetch=slots)
        await publish_numbers(broker, queue, 4)

        async def both_slots_taken() -> bool:
            return len(running) == 2

        await wait_for(both_slots_taken, TIMEOUT, "two jobs to start")
        await depth_is(broker, queue, 2)
        running.pop(0)  # a job finished
        await subscription.set_prefetch(slots - len(running))
        await wait_for(both_slots_taken, TIMEOUT, "the next job to start")
        await depth_is(broker, queue, 1)
        assert started[0] == 0
        assert len(set(started)) == len(started) == 3  # three messages, each handled once
        assert most_running == slots

    async def test_a_burst_never_gives_a_consumer_more_than_its_slots(
        self, broker: Broker, queue: str
    ) -> None:
        """Deliveries that cross a prefetch change still count against the new limit."""
        slots, jobs = 3, 15
        running: list[Delivery] = []
        started: list[int] = []
        most_running = 0
        subscription: Subscription | None = None

        async def take_job(delivery: Delivery) -> None:
            nonlocal most_running
            running.append(delivery)
            started.append(int(delivery.body["n"]))
            most_running = max(most_running, len(running))
            assert subscription is not None
            await subscription.set_prefetch(slots - len(running))
            await delivery.ack()

        subscription = await broker.consume(queue, take_job, prefetch=slots)
        await asyncio.gather(*(broker.publish(queue, {"v": 1, "n": n}) for n in range(jobs)))
        while len(started) < jobs:

            async def slots_full() -> bool:
                return len(running) == min(slots, jobs - len(started) + len(running))

            await wait_for(slots_full, TIMEOUT, "every slot to take a job")
            running.pop(0)  # a job finished
            await subscription.set_prefetch(slots - len(running))

        assert sorted(started) == list(range(jobs))
        assert most_running == slots

    async def test_reject_with_requeue_redelivers(self, broker: Broker, queue: str) -> None:
        """Where the message goes back is not part of the contract: the memory broker puts it
        first, RabbitMQ's quorum queues (3.x) last."""
        consumer = Recorder()
        await broker.consume(queue, consumer, prefetch=1)
        await publish_numbers(broker, queue, 2)
        await consumer.received(1)

        await consumer.deliveries[0].reject(requeue=True)
        await consumer.received(2)
        await consumer.deliveries[1].ack()
        await consumer.received(3)
        await consumer.deliveries[2].ack()

        assert sorted(consumer.numbers) == [0, 0, 1]
        assert consumer.deliveries[0].body == {"v": 1, "n": 0}
        await depth_is(broker, queue, 0)

    async def test_reject_without_requeue_drops(self, broker: Broker, queue: str) -> None:
        consumer = Recorder()
        await broker.consume(queue, consumer, prefetch=1)
        await publish_numbers(broker, queue, 2)
        await consumer.received(1)

        await consumer.deliveries[0].reject(requeue=False)
        await consumer.received(2)
        await consumer.deliveries[1].ack()

        assert consumer.numbers == [0, 1]
        await depth_is(broker, queue, 0)

    async def test_cancel_requeues_unacked_to_another_consumer(
        self, broker: Broker, queue: str
    ) -> None:
        first = Recorder()
        subscription = await broker.consume(queue, first, prefetch=1)
        await broker.publish(queue, {"v": 1, "n": 7, "payload": {"script": "echo hi"}})
        await first.received(1)
        second = Recorder(auto_ack=True)
        await broker.consume(queue, second, prefetch=1)

        await subscription.cancel()
        await second.received(1, "the unacked message to move to the other consumer")

        assert second.deliveries[0].body == {"v": 1, "n": 7, "payload": {"script": "echo hi"}}
        await depth_is(broker, queue, 0)

    async def test_cancel_requeues_in_the_original_order(self, broker: Broker, queue: str) -> None:
        first = Recorder()
        subscription = await broker.consume(queue, first, prefetch=20)
        await publish_numbers(broker, queue, 21)
        await first.received(20)

        await subscription.cancel()
        await depth_is(broker, queue, 21)
        second = Recorder(auto_ack=True)
        await broker.consume(queue, second, prefetch=1)
        await second.received(21)

        assert second.numbers == list(range(21))

    async def test_settling_after_cancel_does_nothing(self, broker: Broker, queue: str) -> None:
        first = Recorder()
        subscription = await broker.consume(queue, first, prefetch=1)
        await publish_numbers(broker, queue, 1)
        await first.received(1)
        await subscription.cancel()

        await first.deliveries[0].ack()  # too late: the message is back on the queue
        second = Recorder(auto_ack=True)
        await broker.consume(queue, second, prefetch=1)
        await second.received(1)
        assert second.numbers == [0]

    async def test_canceled_consumer_gets_nothing_more(self, broker: Broker, queue: str) -> None:
        consumer = Recorder(auto_ack=True)
        subscription = await broker.consume(queue, consumer, prefetch=5)
        await subscription.cancel()

        await publish_numbers(broker, queue, 2)
        await depth_is(broker, queue, 2)

        assert consumer.deliveries == []

    async def test_each_message_goes_to_one_consumer(self, broker: Broker, queue: str) -> None:
        first, second = Recorder(auto_ack=True), Recorder(auto_ack=True)
        await broker.consume(queue, first, prefetch=1)
        await broker.consume(queue, second, prefetch=1)

        await publish_numbers(broker, queue, 10)

        async def all_delivered() -> bool:
            return len(first.deliveries) + len(second.deliveries) == 10

        await wait_for(all_delivered, TIMEOUT, "10 deliveries in all")
        assert sorted(first.numbers + second.numbers) == list(range(10))

    async def test_fanout_reaches_every_subscriber(self, broker: Broker) -> None:
        exchange = f"test.commands.{uuid.uuid4().hex[:8]}"
        first, second = FanoutRecorder(), FanoutRecorder()
        await broker.subscribe(exchange, first)
        await broker.subscribe(exchange, second)

        await broker.broadcast(exchange, {"v": 1, "cancel": 42})

        async def both() -> bool:
            return bool(first.bodies and second.bodies)

        await wait_for(both, TIMEOUT, "both subscribers to get the broadcast")
        assert first.bodies == second.bodies == [{"v": 1, "cancel": 42}]

    async def test_fanout_stops_after_cancel_and_stores_nothing(self, broker: Broker) -> None:
        exchange = f"test.commands.{uuid.uuid4().hex[:8]}"
        await broker.broadcast(exchange, {"v": 1, "n": 0})  # nobody listens: not kept
        staying, leaving = FanoutRecorder(), FanoutRecorder()
        await broker.subscribe(exchange, staying)
        subscription = await broker.subscribe(exchange, leaving)
        await subscription.cancel()

        await broker.broadcast(exchange, {"v": 1, "n": 1})

        async def arrived() -> bool:
            return bool(staying.bodies)

        await wait_for(arrived, TIMEOUT, "the remaining subscriber to get the broadcast")
        assert staying.bodies == [{"v": 1, "n": 1}]
        assert leaving.bodies == []

    async def test_queue_info_counts_ready_messages_and_consumers(
        self, broker: Broker, queue: str
    ) -> None:
        info = await broker.queue_info(queue)
        assert (info.name, info.depth, info.consumers) == (queue, 0, 0)

        await publish_numbers(broker, queue, 3)
        await depth_is(broker, queue, 3)
        assert (await broker.queue_info(queue)).consumers == 0

        holder = Recorder()
        subscription = await broker.consume(queue, holder, prefetch=1)
        other = await broker.consume(queue, Recorder(), prefetch=1)
        await holder.received(1)
        await depth_is(broker, queue, 1)  # the unacked ones are not waiting any more
        assert (await broker.queue_info(queue)).consumers == 2

        await other.cancel()
        await depth_is(broker, queue, 2)
        assert (await broker.queue_info(queue)).consumers == 1
        await subscription.cancel()
        await depth_is(broker, queue, 3)
        assert (await broker.queue_info(queue)).consumers == 0

    async def test_a_paused_consumer_is_not_counted(self, broker: Broker, queue: str) -> None:
        subscription = await broker.consume(queue, Recorder(), prefetch=0)
        assert (await broker.queue_info(queue)).consumers == 0

        await subscription.set_prefetch(1)
        assert (await broker.queue_info(queue)).consumers == 1

    async def test_bodies_are_json_copies(self, broker: Broker, queue: str) -> None:
        body: dict[str, Any] = {"v": 1, "n": 0, "env": ["A=1"], "pair": (1, 2)}
        consumer = Recorder()
        await broker.consume(queue, consumer, prefetch=1)

        await broker.publish(queue, body)
        body["env"].append("B=2")  # the publisher's later change does not travel
        await consumer.received(1)

        received = consumer.deliveries[0].body
        assert received == {"v": 1, "n": 0, "env": ["A=1"], "pair": [1, 2]}
        received["env"].append("C=3")  # the consumer's change does not come back
        await consumer.deliveries[0].reject(requeue=True)
        await consumer.received(2)
        assert consumer.deliveries[1].body == {"v": 1, "n": 0, "env": ["A=1"], "pair": [1, 2]}

    async def test_fanout_subscribers_get_their_own_copies(self, broker: Broker) -> None:
        exchange = f"test.commands.{uuid.uuid4().hex[:8]}"
        seen: list[Message] = []

        async def mutating(body: Message) -> None:
            body["cancel"] = "changed"
            body["extra"] = True

        async def reading(body: Message) -> None:
            seen.append(body)

        await broker.subscribe(exchange, mutating)
        await broker.subscribe(exchange, reading)
        original: Message = {"v": 1, "cancel": 5}

        await broker.broadcast(exchange, original)

        async def arrived() -> bool:
            return bool(seen)

        await wait_for(arrived, TIMEOUT, "the broadcast")
        assert seen == [{"v": 1, "cancel": 5}]
        assert original == {"v": 1, "cancel": 5}

    async def test_a_body_json_cannot_carry_is_refused(self, broker: Broker, queue: str) -> None:
        with pytest.raises(TypeError):
            await broker.publish(queue, {"v": 1, "when": object()})

        await depth_is(broker, queue, 0)
