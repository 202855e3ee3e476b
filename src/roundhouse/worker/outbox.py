"""The worker's outbox: every message to the platform (state events, log parts) goes through
it, is sent in the order it was put, and waits out a broker outage of any length.

put() never blocks, so a job's output keeps being read while the broker is away. Messages
wait in memory up to a limit, then in a file (JSON lines) in the spill directory; once a
message has been spilled, later ones follow it there until the file has been read back, so
the order never changes.

One task sends them, in order, as they come, with up to IN_FLIGHT unconfirmed (the broker
keeps the order of one channel), except that messages with the same order key (e.g. two
state events of one job) never travel together: the later one waits for the earlier one's
confirmation. A send that fails is tried again, with backoff, until it succeeds.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
from collections import deque
from collections.abc import Callable, Coroutine, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from roundhouse.broker.base import Message

log = logging.getLogger(__name__)
RETRY_FIRST, RETRY_CAP = 0.1, 5.0  # seconds between tries of a send that failed
OVERHEAD = 200  # bytes an item takes in memory besides its content, roughly
IN_FLIGHT = 32  # messages sent and not yet confirmed, at most


OrderKey = Callable[[str, Message], Hashable | None]


class Publisher(Protocol):
    """What the outbox needs of a broker."""

    def publish(self, queue: str, body: Message) -> Coroutine[Any, Any, None]: ...


@dataclass
class _Item:
    seq: int
    queue: str
    body: Message

    @property
    def size(self) -> int:
        return len(str(self.body.get("content", ""))) + OVERHEAD


class _Spill:
    """A file of items, appended at its end and read from its start."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._writer: IO[str] = path.open("w", encoding="utf-8")
        self._reader: IO[str] = path.open("r", encoding="utf-8")
        self.unread = 0

    def append(self, item: _Item) -> None:
        line = json.dumps({"seq": item.seq, "queue": item.queue, "body": item.body})
        self._writer.write(line + "\n")
        self.unread += 1

    def read(self, budget: int) -> list[_Item]:
        """The next items, up to about budget bytes (at least one)."""
        self._writer.flush()
        items: list[_Item] = []
        while self.unread and (not items or budget > 0):
            raw = json.loads(self._reader.readline())
            item = _Item(raw["seq"], raw["queue"], raw["body"])
            items.append(item)
            budget -= item.size
            self.unread -= 1
        return items

    def remove(self) -> None:
        self._writer.close()
        self._reader.close()
        self.path.unlink(missing_ok=True)


class Outbox:
    def __init__(
        self,
        broker: Publisher,
        spill_dir: Path,
        memory_limit: int,
        order_key: OrderKey = lambda queue, body: None,
    ) -> None:
        self._broker = broker
        self._order_key = order_key
        self._spill_path = spill_dir / "outbox.jsonl"
        self._memory_limit = memory_limit
        self._memory: deque[_Item] = deque()
        self._memory_bytes = 0
        self._spill: _Spill | None = None
        self._next_seq = 0
        self._sent = 0  # every item with a smaller seq has been confirmed
        self._waiters: dict[int, asyncio.Future[None]] = {}
        self._wakeup = asyncio.Event()
        self._empty = asyncio.Event()
        self._empty.set()
        self._sender: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._sender = asyncio.get_running_loop().create_task(self._send_loop())

    async def close(self) -> None:
        """Stop sending; what was not sent yet is dropped (see drained())."""
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
        for waiter in self._waiters.values():
            waiter.cancel()
        self._waiters.clear()
        if self._spill is not None:
            self._spill.remove()
            self._spill = None

    @property
    def pending(self) -> int:
        return self._next_seq - self._sent

    def is_sent(self, seq: int) -> bool:
        return seq < self._sent

    def put(self, queue: str, body: Message) -> int:
        """Queue body for sending; returns its sequence number (see delivered())."""
        item = _Item(self._next_seq, queue, body)
        self._next_seq += 1
        if self._spill is None and self._memory_bytes + item.size > self._memory_limit:
            log.warning(
                "the broker is behind or away: %d messages wait; more go to %s",
                len(self._memory),
                self._spill_path,
            )
            self._spill = _Spill(self._spill_path)
        if self._spill is not None:
            self._spill.append(item)
        else:
            self._memory.append(item)
            self._memory_bytes += item.size
        self._empty.clear()
        self._wakeup.set()
        return item.seq

    async def delivered(self, seq: int) -> None:
        """Return once the message put as seq has been confirmed by the broker."""
        if seq < self._sent:
            return
        waiter = self._waiters.get(seq)
        if waiter is None:
            waiter = self._waiters[seq] = asyncio.get_running_loop().create_future()
        await asyncio.shield(waiter)

    async def send(self, queue: str, body: Message) -> None:
        """put() and wait for delivered()."""
        await self.delivered(self.put(queue, body))

    async def publish(self, queue: str, body: Message) -> None:
        """put(), as a Publisher: for the job's log writer, which must never wait."""
        self.put(queue, body)

    async def drained(self) -> None:
        """Return once everything put so far has been sent."""
        await self._empty.wait()

    async def _next(self) -> _Item:
        while True:
            if not self._memory and self._spill is not None:
                self._memory.extend(self._spill.read(self._memory_limit))
                self._memory_bytes += sum(item.size for item in self._memory)
                if not self._spill.unread:
                    self._spill.remove()
                    self._spill = None
            if self._memory:
                return self._memory[0]
            self._wakeup.clear()
            await self._wakeup.wait()

    async def _send_loop(self) -> None:
        # A sliding window: a message is sent as soon as it is put, while fewer than IN_FLIGHT
        # wait for their confirmations (the oldest is awaited, not the whole window), so a log
        # part never waits for the confirmations of the parts sent before it.
        window: deque[asyncio.Task[None]] = deque()
        failures = 0
        try:
            while True:
                self._top_up(window)
                if not window:
                    await self._next()
                    continue
                arrived = asyncio.ensure_future(self._wakeup.wait())
                await asyncio.wait({window[0], arrived}, return_when=asyncio.FIRST_COMPLETED)
                arrived.cancel()
                self._wakeup.clear()
                while window and window[0].done():
                    error = _failure(window[0])
                    if error is not None:
                        failures = await self._resend_after(error, window, failures)
                        break
                    window.popleft()
                    self._confirmed(failures)
                    failures = 0
        finally:
            for task in window:
                task.cancel()

    def _top_up(self, window: deque[asyncio.Task[None]]) -> None:
        """Send the next messages, in order, up to IN_FLIGHT unconfirmed, none sharing an
        order key with one still unconfirmed."""
        keys = {
            self._order_key(i.queue, i.body) for i in itertools.islice(self._memory, len(window))
        }
        while len(window) < min(IN_FLIGHT, len(self._memory)):
            item = self._memory[len(window)]
            key = self._order_key(item.queue, item.body)
            if key is not None and key in keys:
                return
            keys.add(key)
            window.append(asyncio.ensure_future(self._broker.publish(item.queue, item.body)))

    def _confirmed(self, failures: int) -> None:
        """The oldest message is confirmed."""
        if failures:
            log.warning("the broker is back; sending the %d waiting messages", self.pending)
        item = self._memory.popleft()
        self._memory_bytes -= item.size
        self._sent = item.seq + 1
        waiter = self._waiters.pop(item.seq, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if not self._memory and self._spill is None:
            self._empty.set()

    async def _resend_after(
        self, error: BaseException, window: deque[asyncio.Task[None]], failures: int
    ) -> int:
        """The oldest message was not confirmed: let the others in flight end, then send them
        all again, in order, after a pause (so a few may arrive twice: consumers are
        idempotent). Returns the failures so far."""
        await asyncio.gather(*window, return_exceptions=True)
        window.clear()
        if failures == 0:
            log.warning(
                "cannot send to %s (%s); %d messages wait and are sent, in order, once the "
                "broker is back",
                self._memory[0].queue,
                error,
                self.pending,
            )
        failures += 1
        await asyncio.sleep(min(RETRY_CAP, RETRY_FIRST * 2**failures) * random.uniform(0.5, 1))
        return failures


def _failure(task: asyncio.Task[None]) -> BaseException | None:
    """Why a send failed; None if it was confirmed or JSON cannot carry it (then dropped)."""
    error = task.exception()
    if isinstance(error, TypeError):
        log.error("dropped a message that JSON cannot carry")
        return None
    return error
