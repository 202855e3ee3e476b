"""The job output reader: a writer never waits for a busy event loop, unread output in memory
stays bounded, and close() ends the reading even while a child still holds the pipe open.
"""

from __future__ import annotations

import asyncio
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
