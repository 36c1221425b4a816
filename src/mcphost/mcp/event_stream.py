"""A server-sent event stream of MCP messages: numbered events, kept for resumption, followed by a writer.

Each stream a client receives (an answer streamed over SSE, or the standalone GET stream) keeps its recent events;
an event id is ``{stream}-{seq}``, so a client that lost the connection resumes with ``Last-Event-ID``."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator

import orjson

from mcphost.mcp.jsonrpc import Message

__all__ = ["EventStream", "parse_event_id"]


class EventStream:
    """The server messages sent (or to be sent) on one SSE stream, numbered; ``done`` once the stream is over."""

    __slots__ = ("_wake", "done", "events", "id", "sent", "seq")

    def __init__(self, stream_id: int, limit: int) -> None:
        self.id = stream_id
        self.events: deque[tuple[int, bytes]] = deque(maxlen=max(limit, 1))
        self.seq = 0
        #: The last event handed to a client (a new GET stream starts after it).
        self.sent = 0
        self.done = False
        self._wake: asyncio.Event | None = None

    def push(self, message: Message) -> None:
        self.seq += 1
        self.events.append((self.seq, orjson.dumps(message)))
        if self._wake is not None:
            self._wake.set()

    def finish(self) -> None:
        self.done = True
        if self._wake is not None:
            self._wake.set()

    def event_id(self, seq: int) -> str:
        return f"{self.id}-{seq}"

    async def follow(self, after: int, *, keepalive: float = 0) -> AsyncIterator[tuple[int, bytes]]:
        """The events after ``after``, then new ones as they come, until the stream is done. With ``keepalive``,
        ``(-1, b"")`` whenever nothing came for that many seconds."""
        wake = self._wake = self._wake or asyncio.Event()
        while True:
            wake.clear()
            for seq, data in list(self.events):
                if seq > after:
                    after = self.sent = seq
                    yield seq, data
            if self.done and after >= self.seq:
                return
            if keepalive:
                try:
                    await asyncio.wait_for(wake.wait(), keepalive)
                except TimeoutError:
                    yield -1, b""
            else:
                await wake.wait()


def parse_event_id(value: str) -> tuple[int, int] | None:
    stream, _, seq = value.partition("-")
    if stream.isdigit() and seq.isdigit():
        return int(stream), int(seq)
    return None
