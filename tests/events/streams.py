"""Apps served for event-stream tests, and the SSE client they read with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from mcphost.api import create_app
from mcphost.platform import Platform
from mcphost.settings import Settings
from tests.support.live import serve
from tests.support.sse import STREAM_PATH, WAIT_SECONDS, EventStream, Frame, open_stream

__all__ = ["STREAM_PATH", "EventStream", "Frame", "Live", "kinds", "open_stream", "running"]


def kinds(frames: list[Frame]) -> list[str | None]:
    return [frame.event for frame in frames]


@dataclass
class Live:
    """An app served on a loopback port, with a plain HTTP client for its API."""

    url: str
    http: httpx.AsyncClient
    app: FastAPI

    @property
    def platform(self) -> Platform:
        platform: Platform = self.app.state.platform
        return platform

    def stream(
        self, headers: dict[str, str], last_event_id: str | None = None
    ) -> AbstractAsyncContextManager[EventStream]:
        return open_stream(self.url, headers, last_event_id)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Live]:
    app = create_app(settings)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=WAIT_SECONDS) as http:
        yield Live(url, http, app)
