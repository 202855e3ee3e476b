"""In-process notifications for live pages: "something about build 12 changed".

Topics are strings such as "build:12", "job:7", "repo:3"; subscribers get each topic name.
A subscriber to "repo:*" hears about every repository (a page listing them all).
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
            kind = topic.split(":", 1)[0]
            listeners = self._subscribers.get(topic, set()) | self._subscribers.get(
                f"{kind}:*", set()
            )
            for queue in listeners:
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
