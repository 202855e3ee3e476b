"""The in-process event bus of live pages: exact topics, and "kind:*" for every topic of a
kind (the repositories list hears about every repository)."""

from __future__ import annotations

import asyncio

from roundhouse.platform.events import EventBus


async def test_subscribers_hear_their_topics_and_wildcards_their_kind() -> None:
    bus = EventBus()
    async with (
        bus.subscribe("repo:3") as one,
        bus.subscribe("repo:*") as every,
        bus.subscribe("build:*") as builds,
    ):
        bus.publish("repo:3")
        assert await asyncio.wait_for(one.get(), 1) == "repo:3"
        assert await asyncio.wait_for(every.get(), 1) == "repo:3"
        bus.publish("repo:4")
        assert await asyncio.wait_for(every.get(), 1) == "repo:4"
        assert one.empty() and builds.empty()
