"""Message brokers behind one interface (base.Broker): in-process and RabbitMQ.

Used by both platform/ and worker/; imports neither.
"""

from roundhouse.broker.base import (
    Broker,
    BrokerError,
    BrokerUnavailable,
    Delivery,
    DeliveryLost,
    QueueInfo,
    Subscription,
    make_broker,
)

__all__ = [
    "Broker",
    "BrokerError",
    "BrokerUnavailable",
    "Delivery",
    "DeliveryLost",
    "QueueInfo",
    "Subscription",
    "make_broker",
]
