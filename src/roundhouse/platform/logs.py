"""The log service: stores log parts as they arrive, fans them out live, aggregates at the end.

Parts are keyed by (job, attempt, number), so a repeated part is stored once. A live reader
first gets what was stored, then new parts, then an end marker once the final part is in.

With several platform processes, one consumes the log queue at a time (a single active
consumer) and, once a batch is stored, broadcasts it on platform.logs, so that readers
attached to the other processes see it too; a reader that notices a gap in the numbers reads
the missing parts from the database.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.broker import Delivery, Subscription
from roundhouse.broker.memory import MemoryBroker
from roundhouse.db.models import Job, Log, LogPart, utcnow
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.logjoin import join_parts
from roundhouse.platform.transitions import engine_of
from roundhouse.protocol import FINISHED_STATES, LIVE_LOG_EXCHANGE, LOG_QUEUE, PROTOCOL_VERSION

log = logging.getLogger(__name__)
FLUSH_SECONDS = 0.05
FLUSH_PARTS = 200
QUIET_CHECK_SECONDS = 5.0
# A stored log is sent head first: its first characters come from a quick prefix read, so a
# reader sees the first screen before the whole (maybe 50 MB) log is out of the database.
HEAD_CHARS = 256 * 1024
PIECE_CHARS = 1024 * 1024


@dataclass(frozen=True)
class Part:
    job_id: int
    attempt: int
    number: int
    content: str
    final: bool


class LogService:
    def __init__(self, ctx: PlatformContext) -> None:
        self.ctx = ctx
        self._pending: list[tuple[Part, Delivery]] = []
        self._writing: list[Part] = []  # the batch flush() is committing right now
        self._flush_task: asyncio.Task[None] | None = None
        self._flush_lock = asyncio.Lock()
        self._readers: dict[int, set[asyncio.Queue[Part]]] = defaultdict(set)
        self._subscription: Subscription | None = None
        self._live: Subscription | None = None
        # Alone with the in-process broker; else other platform processes may have readers.
        self._shared = not isinstance(ctx.broker, MemoryBroker)
        self._origin = uuid.uuid4().hex  # tells our own broadcasts from the others'
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self._shared:
            self._live = await self.ctx.broker.subscribe(LIVE_LOG_EXCHANGE, self._on_live)
        self._subscription = await self.ctx.broker.consume(
            LOG_QUEUE, self._on_part, FLUSH_PARTS * 4
        )

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.cancel()
        await self.flush()
        if self._live is not None:
            await self._live.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _on_part(self, delivery: Delivery) -> None:
        body = delivery.body
        part = Part(
            int(body["job_id"]),
            int(body["attempt"]),
            int(body["number"]),
            str(body.get("content", "")),
            bool(body.get("final")),
        )
        self._pending.append((part, delivery))
        for reader in self._readers.get(part.job_id, ()):
            reader.put_nowait(part)
        if len(self._pending) >= FLUSH_PARTS or part.final:
            await self.flush()
        elif self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        # Parts that arrive while a batch is being written find this task still running, so
        # they start no task of their own: this loop takes them.
        while self._pending:
            await asyncio.sleep(FLUSH_SECONDS)
            await self.flush()

    async def flush(self) -> None:
        """Write pending parts in one statement, then ack them; aggregate finished logs."""
        async with self._flush_lock:
            batch, self._pending = self._pending, []
            if not batch:
                return
            self._writing = [p for p, _ in batch]
            rows = [
                {
                    "job_id": p.job_id,
                    "attempt": p.attempt,
                    "number": p.number,
                    "content": p.content,
                    "final": p.final,
                }
                for p, _ in batch
            ]
            try:
                async with self.ctx.sessions() as session, session.begin():
                    await session.execute(_insert_ignoring_duplicates(session), rows)
            except Exception:
                log.exception("could not store %d log parts; they go back to the queue", len(batch))
                for _, delivery in batch:
                    await delivery.reject(requeue=True)
                return
            finally:
                self._writing = []
            if self._shared:
                self._broadcast(rows)
            for _, delivery in batch:
                await delivery.ack_unless_lost()
            for part, _ in batch:
                if part.final:
                    await self.aggregate(part.job_id, part.attempt)

    def _broadcast(self, rows: list[dict[str, Any]]) -> None:
        """Stored parts, to the readers of the other platform processes (best effort: a
        reader that misses some finds them in the database when it sees the gap)."""
        body = {"v": PROTOCOL_VERSION, "origin": self._origin, "parts": rows}
        task = asyncio.get_running_loop().create_task(
            self.ctx.broker.broadcast(LIVE_LOG_EXCHANGE, body)
        )
        self._tasks.add(task)
        task.add_done_callback(self._broadcast_done)

    def _broadcast_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("live log parts not shared with other processes: %s", task.exception())

    async def _on_live(self, body: dict[str, Any]) -> None:
        if body.get("origin") == self._origin:
            return
        for row in body.get("parts") or []:
            readers = self._readers.get(int(row["job_id"]))
            if readers:
                part = Part(
                    int(row["job_id"]),
                    int(row["attempt"]),
                    int(row["number"]),
                    str(row["content"]),
                    bool(row["final"]),
                )
                for reader in readers:
                    reader.put_nowait(part)

    async def add_note(self, job_id: int, attempt: int, text: str, *, final: bool) -> None:
        """A line from the platform itself: first in a new attempt's log, or its last one."""
        async with self.ctx.sessions() as session, session.begin():
            last = await session.scalar(
                select(func.max(LogPart.number)).where(
                    LogPart.job_id == job_id, LogPart.attempt == attempt
                )
            )
            # Workers number parts from 0, so -1 sorts before anything the attempt prints.
            number = (last if last is not None else -1) + 1 if final else -1
            row = {"job_id": job_id, "attempt": attempt, "number": number, "content": text}
            await session.execute(_insert_ignoring_duplicates(session), [{**row, "final": final}])
        part = Part(job_id, attempt, number, text, final)
        for reader in self._readers.get(job_id, ()):
            reader.put_nowait(part)
        if final:
            await self.aggregate(job_id, attempt)

    async def aggregate(self, job_id: int, attempt: int) -> None:
        """Join an attempt's parts into one stored log and drop the parts. The parts of an
        attempt that is no longer current (a worker that was thought lost), or whose log is
        stored already (parts delivered again), are only dropped."""
        engine = engine_of(self.ctx)
        if engine.dialect.name == "postgresql":
            await join_parts(engine, job_id, attempt, utcnow())
            return
        async with self.ctx.sessions() as session, session.begin():
            current = await session.scalar(select(Job.attempt).where(Job.id == job_id))
            if current != attempt:
                await session.execute(
                    delete(LogPart).where(LogPart.job_id == job_id, LogPart.attempt == attempt)
                )
                return
            stored = await session.get(Log, job_id)
            if stored is not None and stored.attempt == attempt:
                await session.execute(
                    delete(LogPart).where(LogPart.job_id == job_id, LogPart.attempt == attempt)
                )
                return
            content = await _joined_parts(session, job_id, attempt)
            if stored is None:
                session.add(Log(job_id=job_id, attempt=attempt, content=content, size=len(content)))
            else:
                stored.attempt, stored.content, stored.size = attempt, content, len(content)
                stored.aggregated_at = utcnow()
            await session.execute(delete(LogPart).where(LogPart.job_id == job_id))

    def _in_memory(self, job_id: int) -> list[Part]:
        parts = self._writing + [p for p, _ in self._pending]
        return [p for p in parts if p.job_id == job_id]

    async def read(self, job_id: int) -> tuple[str, bool] | None:
        """The log of the job's current attempt so far, and whether it is complete."""
        snapshot = await self._snapshot(job_id)
        return None if snapshot is None else (snapshot.text, snapshot.complete)

    async def pieces(self, job_id: int) -> AsyncIterator[str]:
        """The log of the job's current attempt so far, in pieces: a stored log's head first,
        then the rest, so a reader can show its beginning while the rest is still read."""
        async with self.ctx.sessions() as session:
            job = await session.get(Job, job_id)
            if job is None:
                return
            attempt = job.attempt
            current = (Log.job_id == job_id, Log.attempt == attempt)
            head = (
                await session.execute(
                    select(func.substr(Log.content, 1, HEAD_CHARS), Log.size).where(*current)
                )
            ).first()
        if head is None:
            snapshot = await self._snapshot(job_id)
            if snapshot is not None and snapshot.text:
                yield snapshot.text
            return
        yield head[0]
        if head[1] <= HEAD_CHARS:
            return
        async with self.ctx.sessions() as session:
            rest = (
                await session.scalar(
                    select(func.substr(Log.content, HEAD_CHARS + 1)).where(*current)
                )
                or ""
            )
        for start in range(0, len(rest), PIECE_CHARS):
            yield rest[start : start + PIECE_CHARS]

    async def _snapshot(self, job_id: int) -> _Snapshot | None:
        # Parts only move memory → log_parts → logs. Reading in that same order means a part
        # that moves while we read is still seen in one of the places.
        unstored = self._in_memory(job_id)
        async with self.ctx.sessions() as session:
            job = await session.get(Job, job_id)
            if job is None:
                return None
            parts = await _parts(session, job_id, job.attempt)
            stored = await session.scalar(
                select(Log).where(Log.job_id == job_id, Log.attempt == job.attempt)
            )
            if stored is not None:
                return _Snapshot(stored.content, True, job.attempt, -1)
        numbers = {p.number for p in parts}
        parts += [p for p in unstored if p.attempt == job.attempt and p.number not in numbers]
        parts.sort(key=lambda p: p.number)
        complete = any(p.final for p in parts) or (job.state in FINISHED_STATES and not parts)
        last = parts[-1].number if parts else -1
        return _Snapshot("".join(p.content for p in parts), complete, job.attempt, last)

    async def follow(self, job_id: int) -> AsyncIterator[str]:
        """Yield the log so far, then each new piece, and stop once the log is complete."""
        queue: asyncio.Queue[Part] = asyncio.Queue()
        # Listen before reading, so nothing falls between the snapshot and the live parts.
        self._readers[job_id].add(queue)
        try:
            snapshot = await self._snapshot(job_id)
            if snapshot is None:
                return
            if snapshot.text:
                yield snapshot.text
            if snapshot.complete:
                return
            seen = snapshot.last_number
            while True:
                try:
                    part = await asyncio.wait_for(queue.get(), QUIET_CHECK_SECONDS)
                except TimeoutError:
                    # A worker that died mid-job never sends its final part; the reconciler
                    # ends the job, and then so does this reader.
                    if await self._attempt_over(job_id, snapshot.attempt):
                        return
                    continue
                if part.attempt != snapshot.attempt or part.number <= seen:
                    continue
                if part.number > seen + 1 and seen >= 0:
                    # Parts overtook others (another process's broadcast): fill in from the
                    # database, where they were stored before being broadcast.
                    for missing in await self._parts_between(job_id, part.attempt, seen, part):
                        yield missing.content
                seen = part.number
                if part.content:
                    yield part.content
                if part.final:
                    return
        finally:
            self._readers[job_id].discard(queue)
            if not self._readers[job_id]:
                del self._readers[job_id]

    async def _parts_between(self, job_id: int, attempt: int, seen: int, part: Part) -> list[Part]:
        async with self.ctx.sessions() as session:
            stored = await _parts(session, job_id, attempt)
        found = {p.number: p for p in stored + self._in_memory(job_id) if p.attempt == attempt}
        return [found[n] for n in sorted(found) if seen < n < part.number]

    async def _attempt_over(self, job_id: int, attempt: int) -> bool:
        async with self.ctx.sessions() as session:
            job = await session.get(Job, job_id)
        return job is None or job.attempt != attempt or job.state in FINISHED_STATES


@dataclass(frozen=True)
class _Snapshot:
    text: str
    complete: bool
    attempt: int
    last_number: int


def _insert_ignoring_duplicates(session: AsyncSession) -> Any:
    """One statement for any number of parts (executed with a list of rows): compiled once
    and cached, where a VALUES list of each batch's length was compiled for every batch."""
    assert session.bind is not None
    table = cast(Table, LogPart.__table__)
    if session.bind.dialect.name == "postgresql":
        return pg_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()


async def _parts(session: AsyncSession, job_id: int, attempt: int) -> list[Part]:
    rows = await session.execute(
        select(LogPart.number, LogPart.content, LogPart.final)
        .where(LogPart.job_id == job_id, LogPart.attempt == attempt)
        .order_by(LogPart.number)
    )
    return [Part(job_id, attempt, n, c, f) for n, c, f in rows]


async def _joined_parts(session: AsyncSession, job_id: int, attempt: int) -> str:
    return "".join(p.content for p in await _parts(session, job_id, attempt))
