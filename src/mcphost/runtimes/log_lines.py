"""A running server's log lines, for any runtime: read from a stream one line at a time (overlong lines cut), kept
in a bounded buffer that never blocks the server, and handed to their consumer in order.

A runtime pumps each output stream of an instance (``pump_lines``) into a ``LogBuffer`` and serves
``Instance.log_lines`` from ``LogBuffer.lines``; when the consumer falls behind, the oldest lines are dropped and
counted, and the count is reported as a line of its own."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator

__all__ = ["MAX_LINE_CHARS", "LogBuffer", "pump_lines"]

MAX_LINE_CHARS = 4096
_READ_CHUNK = 65536


class LogBuffer:
    """Lines waiting for their consumer. When it falls behind, the oldest lines are dropped (and counted) rather
    than the server being blocked on a full pipe."""

    def __init__(self, max_lines: int = 10_000, tail: int = 200) -> None:
        self.max_lines = max_lines
        self.dropped = 0
        self._unreported = 0
        self._lines: deque[str] = deque()
        self._tail: deque[str] = deque(maxlen=tail)
        self._closed = False
        self._changed = asyncio.Event()

    def put(self, line: str) -> None:
        if len(self._lines) >= self.max_lines:
            self._lines.popleft()
            self.dropped += 1
            self._unreported += 1
        self._lines.append(line)
        self._tail.append(line)
        self._changed.set()

    def close(self) -> None:
        self._closed = True
        self._changed.set()

    def tail(self, count: int) -> list[str]:
        return list(self._tail)[-count:] if count > 0 else []

    async def lines(self) -> AsyncIterator[str]:
        while True:
            if self._unreported:
                count, self._unreported = self._unreported, 0
                yield f"[mcphost] {count} log lines dropped: the server wrote them faster than they were read"
            if self._lines:
                yield self._lines.popleft()
                continue
            if self._closed:
                return
            self._changed.clear()
            await self._changed.wait()


def _decode(raw: bytes | bytearray) -> str:
    text = bytes(raw).decode(errors="replace").rstrip("\r")
    if len(text) > MAX_LINE_CHARS:
        return text[:MAX_LINE_CHARS] + " …[line truncated]"
    return text


async def pump_lines(stream: asyncio.StreamReader, buffer: LogBuffer) -> None:
    """Read ``stream`` to its end into ``buffer``, one line at a time, cutting overlong lines."""
    pending = bytearray()
    skipping = False  # inside the rest of a line already cut
    try:
        while chunk := await stream.read(_READ_CHUNK):
            pending += chunk
            while (end := pending.find(b"\n")) >= 0:
                if not skipping:
                    buffer.put(_decode(pending[:end]))
                skipping = False
                del pending[: end + 1]
            if len(pending) > MAX_LINE_CHARS * 4:
                if not skipping:
                    buffer.put(_decode(pending))
                skipping = True
                pending.clear()
        if pending and not skipping:
            buffer.put(_decode(pending))
    finally:
        buffer.close()
