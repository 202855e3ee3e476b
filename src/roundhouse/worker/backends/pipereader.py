"""Reads a job's output pipe in a thread of its own and hands the output to an asyncio
StreamReader, so a fast writer never waits for the event loop.

The loop also stores log parts and answers the API: a turn of it can outlast what a full
pipe holds (1 MiB is a few milliseconds of `seq`), and the job would stall on every write.
A thread blocked in read() takes the output the moment it comes. The StreamReader's flow
control still holds: past twice its limit the thread stops reading until the runner has
caught up, so a job's unread output in memory stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import threading
import time
from typing import Any

CHUNK = 1024 * 1024
# After a short read the thread waits this long before reading again. Read at once, a fast
# writer's output comes 16 KiB at a time: every write to the empty pipe wakes the thread, and
# each read wakes the event loop. Waiting lets the pipe gather output (1 MiB holds more than
# `seq` writes in a millisecond), so a 16 MB log takes ~60 reads instead of ~1,000; the job
# ran faster and the platform used less CPU (bench/RESULTS.md, 2026-12-02). A live line is
# at most this much later.
GATHER_SECONDS = 0.001


class _Flow(asyncio.ReadTransport):
    """What the StreamReader calls to pause and resume reading (its flow control)."""

    def __init__(self, pipe: PipeReader) -> None:
        super().__init__()
        self._pipe = pipe

    def pause_reading(self) -> None:
        self._pipe.may_read.clear()

    def resume_reading(self) -> None:
        self._pipe.may_read.set()

    def is_reading(self) -> bool:
        return self._pipe.may_read.is_set()

    def close(self) -> None:
        self._pipe.close()

    def is_closing(self) -> bool:
        return self._pipe.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


class PipeReader:
    """Owns the read end of a pipe: read by a daemon thread until EOF or close()."""

    def __init__(self, fd: int, limit: int) -> None:
        self.loop = asyncio.get_running_loop()
        self.reader = asyncio.StreamReader(limit=limit, loop=self.loop)
        self.reader.set_transport(_Flow(self))
        self.may_read = threading.Event()
        self.may_read.set()
        self.closed = False
        self._lock = threading.Lock()  # the wake pipe is closed by the thread, written by close()
        self._finished = False
        self._fd = fd
        # close() writes here to wake the thread from poll(): background children of a
        # finished job may hold the pipe open, and EOF would never come.
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(target=self._run, name="job-output", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop reading (from the loop's thread); the reader then sees EOF."""
        if self.closed:
            return
        self.closed = True
        self.may_read.set()
        with self._lock:
            if not self._finished:
                os.write(self._wake_write, b"x")

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        poller.register(self._wake_read, select.POLLIN)
        try:
            while True:
                self.may_read.wait()
                if self.closed:
                    return
                events = dict(poller.poll())
                if self._wake_read in events:
                    return
                data = os.read(self._fd, CHUNK)
                if not data:
                    return
                self._call(self.reader.feed_data, data)
                if len(data) < CHUNK // 4:
                    time.sleep(GATHER_SECONDS)
        finally:
            with self._lock:
                self._finished = True
                for fd in (self._fd, self._wake_read, self._wake_write):
                    os.close(fd)
            self._call(self.reader.feed_eof)

    def _call(self, function: Any, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody reads any more
            self.loop.call_soon_threadsafe(function, *args)
