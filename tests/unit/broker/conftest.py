"""The brokers the contract suite runs against; add RabbitMQ here as another parameter."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from roundhouse.broker import Broker
from roundhouse.broker.memory import MemoryBroker


def make_memory_broker() -> Broker:
    return MemoryBroker()


BROKER_FACTORIES = {"memory": make_memory_broker}


@pytest.fixture(params=sorted(BROKER_FACTORIES))
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    """A connected broker, closed after the test."""
    instance = BROKER_FACTORIES[request.param]()
    await instance.connect()
    yield instance
    await instance.close()


@pytest.fixture
def queue() -> str:
    """A queue name of this test alone (a real broker keeps queues between tests)."""
    return f"test.{uuid.uuid4().hex[:12]}"
