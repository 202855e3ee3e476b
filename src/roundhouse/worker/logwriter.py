"""Turns a job's output into numbered log parts: masks secrets, enforces the size limit,
and publishes in chunks at most every few milliseconds so readers see output live.
"""

from __future__ import annotations

import asyncio
import codecs

from roundhouse.protocol import LOG_QUEUE, PROTOCOL_VERSION
from roundhouse.worker.outbox import Publisher

MAX_PART_CHARS = 64 * 1024
# Output arriving within this window travels in one part; small enough to feel live.
COALESCE_SECONDS = 0.01
MASK = "[secure]"


class LogLimitExceeded(Exception):
    pass


class LogWriter:
    def __init__(
        self, broker: Publisher, job_id: int, attempt: int, secrets: list[str], max_bytes: int
    ) -> None:
        self.broker = broker
        self.job_id = job_id
        self.attempt = attempt
        self.secrets = sorted((s for s in secrets if s), key=len, reverse=True)
        self.max_bytes = max_bytes
        self.written = 0
        self._number = 0
        # Chunks, joined when sent: growing one string would copy it on every write.
        self._chunks: list[str] = []
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._wakeup = asyncio.Event()
        self._closing = asyncio.Event()  # close() cuts the coalescing wait short
        self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())

    def write_bytes(self, data: bytes) -> None:
        """Queue raw output; raises LogLimitExceeded once max_bytes is passed."""
        self.written += len(data)
        self.write(self._decoder.decode(data))
        if self.written > self.max_bytes:
            raise LogLimitExceeded

    def write(self, text: str) -> None:
        if text:
            self._chunks.append(text)
            self._wakeup.set()

    async def _flush_loop(self) -> None:
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            while True:
                await self._wakeup.wait()
                await asyncio.wait({closing}, timeout=COALESCE_SECONDS)
                if self._closing.is_set():
                    return  # close() sends what is left in the final part
                self._wakeup.clear()
                await self._publish_buffer(final=False)
        finally:
            closing.cancel()

    def _take(self, final: bool) -> str:
        """Masked text ready to send; holds back a tail that could be the start of a secret."""
        text = "".join(self._chunks)
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        hold = 0 if final or not self.secrets else len(self.secrets[0]) - 1
        cut = max(len(text) - hold, 0)
        self._chunks = [text[cut:]] if cut < len(text) else []
        return text[:cut]

    async def _publish_buffer(self, final: bool) -> None:
        """Send what is buffered; with final, its last piece is the final part (maybe empty):
        a short job's log is then one message."""
        text = self._take(final)
        pieces = [
            text[start : start + MAX_PART_CHARS] for start in range(0, len(text), MAX_PART_CHARS)
        ]
        if final and not pieces:
            pieces = [""]
        for index, piece in enumerate(pieces):
            await self._send(piece, final and index == len(pieces) - 1)

    async def _send(self, content: str, final: bool) -> None:
        body = {
            "v": PROTOCOL_VERSION,
            "job_id": self.job_id,
            "attempt": self.attempt,
            "number": self._number,
            "content": content,
            "final": final,
        }
        self._number += 1
        await self.broker.publish(LOG_QUEUE, body)

    async def close(self) -> None:
        """Send everything left, the last of it as the final part."""
        self._closing.set()
        self._wakeup.set()
        # Let the flusher finish its round rather than cancel it mid-send and lose text.
        await self._flusher
        self.write(self._decoder.decode(b"", final=True))
        await self._publish_buffer(final=True)
