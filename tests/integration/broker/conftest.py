"""The brokers the contract suite runs against: in-process, and RabbitMQ on a vhost of the
test's own (see rabbitmq.Vhosts).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from roundhouse.broker import Broker
from roundhouse.broker.memory import MemoryBroker
from tests.integration.broker import rabbitmq


@pytest.fixture(scope="session")
def vhosts() -> Iterator[rabbitmq.Vhosts]:
    try:
        rabbitmq.rabbitmqctl("await_startup")
    except (OSError, RuntimeError) as error:
        pytest.fail(f"RabbitMQ is not running (run `make services`): {error}")
    vhosts = rabbitmq.Vhosts()
    yield vhosts
    vhosts.delete_all()


@pytest.fixture
def vhost(vhosts: rabbitmq.Vhosts) -> str:
    """A RabbitMQ vhost of this test alone (deleted at the end of the session)."""
    return vhosts.take()


@pytest.fixture
def amqp_url(vhost: str) -> str:
    return rabbitmq.url_of(vhost)


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
