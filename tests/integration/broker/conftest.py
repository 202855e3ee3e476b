"""The brokers the contract suite runs against: in-process, and RabbitMQ on a vhost of the
test's own (see rabbitmq.Vhosts; the vhost fixtures are in tests/conftest.py).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from roundhouse.broker import Broker
from roundhouse.broker.memory import MemoryBroker
from tests.integration.broker import rabbitmq


@pytest.fixture(params=["memory", "amqp"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    """A connected broker, closed after the test."""
    instance: Broker
    if request.param == "memory":
        instance = MemoryBroker()
    else:
        instance = rabbitmq.amqp_broker(request.getfixturevalue("amqp_url"))
    await instance.connect()
    yield instance
    await instance.close()


@pytest.fixture
def queue() -> str:
    """A queue name of this test alone (a real broker keeps queues between tests)."""
    return f"test.{uuid.uuid4().hex[:12]}"
