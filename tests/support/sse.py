"""A small Server-Sent Events client for the tests: reads frames as a browser's EventSource would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

STREAM_PATH = "/api/events/stream"
WAIT_SECONDS = 10.0


@dataclass
class Frame:
    """One SSE message (fields as sent) or a run of comment lines."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        values = [value for key, value in self.fields if key == name]
        return values[-1] if values else None

    @property
    def event(self) -> str | None:
        return self.get("event")

    @property
    def id(self) -> str | None:
        return self.get("id")

    @property
    def data(self) -> str:
        return "\n".join(value for key, value in self.fields if key == "data")

    def json(self) -> Any:
        return orjson.loads(self.data)


def parse_field(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name, value.removeprefix(" ")


class EventStream:
    """Frames of an open ``text/event-stream`` response. Every read is bounded: a stream that stays silent
    fails the test with a timeout instead of hanging it."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def frame(self, within: float = WAIT_SECONDS) -> Frame | None:
        """The next frame, or ``None`` when the server ended the stream."""
        frame = Frame()
        async with asyncio.timeout(within):
            async for line in self._lines:
                if line == "":
                    if frame.fields or frame.comments:
                        return frame
                elif line.startswith(":"):
                    frame.comments.append(line[1:].strip())
                else:
                    frame.fields.append(parse_field(line))
        return None

    async def event(self, within: float = WAIT_SECONDS) -> Frame:
        """The next frame that carries an event (comments and the ``ready`` greeting are skipped)."""
        async with asyncio.timeout(within):
            while True:
                frame = await self.frame(within)
                assert frame is not None, "the stream ended while an event was expected"
                if frame.fields and frame.event != "ready":
                    return frame

    async def events_until(self, last: Callable[[Frame], bool], within: float = WAIT_SECONDS) -> list[Frame]:
        """Events up to and including the first one for which ``last`` is true."""
        received: list[Frame] = []
        async with asyncio.timeout(within):
            while not received or not last(received[-1]):
                received.append(await self.event(within))
        return received

    async def rest(self, within: float = WAIT_SECONDS) -> list[Frame]:
        """Every event until the server ends the stream."""
        received: list[Frame] = []
        async with asyncio.timeout(within):
            while (frame := await self.frame(within)) is not None:
                if frame.fields and frame.event != "ready":
                    received.append(frame)
        return received


@asynccontextmanager
async def open_stream(
    base_url: str, headers: dict[str, str], last_event_id: str | None = None, path: str = STREAM_PATH
) -> AsyncIterator[EventStream]:
    """An open event stream, once the server has subscribed it (its ``ready`` frame has arrived)."""
    sent = dict(headers)
    if last_event_id is not None:
        sent["Last-Event-ID"] = last_event_id
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(WAIT_SECONDS)) as http,
        http.stream("GET", path, headers=sent) as response,
    ):
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        # Neither cached nor held back by a buffering proxy (nginx honours X-Accel-Buffering).
        assert response.headers["cache-control"] == "no-cache" and response.headers["x-accel-buffering"] == "no"
        stream = EventStream(response)
        greeting = await stream.frame()
        assert greeting is not None and greeting.event == "ready", greeting
        yield stream
