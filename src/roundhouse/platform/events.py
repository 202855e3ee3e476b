"""In-process notifications for live pages: "something about build 12 changed".

Topics are strings such as "build:12", "job:7", "repo:3"; subscribers get each topic name.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class EventBus:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[str]]] = defaultdict(set)

    def publish(self, *topics: str) -> None:
        for topic in topics:
            for queue in self._subscribers.get(topic, ()):
                # A slow page only needs to know "changed", so one pending note is enough.
                if queue.empty():
                    queue.put_nowait(topic)

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        for topic in topics:
            self._subscribers[topic].add(queue)
        try:
            yield queue
        finally:
            for topic in topics:
                self._subscribers[topic].discard(queue)
