"""The job output reader: a writer never waits for a busy event loop, output written in small
pieces is read in large ones, unread output in memory stays bounded, and close() ends the
reading even while a child still holds the pipe open.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import subprocess

from roundhouse.worker.backends.pipereader import PipeReader
from tests.conftest import wait_for

MIB = 1024 * 1024


def writer(command: str, write_end: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(["bash", "-c", command], stdout=write_end)
    os.close(write_end)  # the writer holds it now; EOF comes when it exits
    return process


async def read_all(reader: asyncio.StreamReader) -> int:
    total = 0
    while chunk := await reader.read(MIB):
        total += len(chunk)
    return total


async def test_the_writer_finishes_while_the_event_loop_is_blocked() -> None:
    read_end, write_end = os.pipe()  # 64 KiB: the writer would stall after a sliver of it
    pipe = PipeReader(read_end, limit=MIB)
    process = writer("head -c 8388608 /dev/zero", write_end)

    # Blocks the event loop until the writer is done: only the reading thread can let it be.
    assert process.wait(timeout=60) == 0

    assert await asyncio.wait_for(read_all(pipe.reader), 60) == 8 * MIB


async def test_output_written_in_small_pieces_is_read_in_large_ones() -> None:
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, MIB)  # as the local backend's pipe
    pipe = PipeReader(read_end, limit=8 * MIB)
    reads: list[int] = []
    feed = pipe.reader.feed_data

    def counted(data: bytes) -> None:
        reads.append(len(data))
        feed(data)

    pipe.reader.feed_data = counted  # type: ignore[method-assign]
    # 4 MB of lines, written 4 KiB at a time by seq's buffered stdout.
    process = writer("seq -f '%079g' 50000", write_end)

    assert await asyncio.wait_for(read_all(pipe.reader), 60) == 4_000_000
    assert await asyncio.to_thread(process.wait, 60) == 0
    # Read the moment they came, they took 120–200 reads of a few pieces each (20 now).
    assert len(reads) < 100, f"{len(reads)} reads, {min(reads)} to {max(reads)} bytes"


async def test_reading_pauses_while_the_output_waits_unread() -> None:
    read_end, write_end = os.pipe()
    pipe = PipeReader(read_end, limit=MIB)
    process = writer("head -c 67108864 /dev/zero", write_end)

    async def paused() -> bool:
        return not pipe.may_read.is_set()

    await wait_for(paused, 30, "the reader to stop reading")
    # Past twice the limit it stopped: the rest is still with the writer.
    assert process.poll() is None
    assert await asyncio.wait_for(read_all(pipe.reader), 60) == 64 * MIB
    assert await asyncio.to_thread(process.wait, 60) == 0


async def test_close_ends_reading_while_a_child_holds_the_pipe() -> None:
    read_end, write_end = os.pipe()
    pipe = PipeReader(read_end, limit=MIB)
    process = writer("echo first; exec sleep 300", write_end)
    try:
        assert await asyncio.wait_for(pipe.reader.readline(), 30) == b"first\n"

        pipe.close()

        assert await asyncio.wait_for(pipe.reader.read(), 30) == b""
    finally:
        process.kill()
        process.wait()
