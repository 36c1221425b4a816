"""Server-Sent Events: framing, keep-alive comments, event ids, and ending streams on disconnect or shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import StreamingResponse

from mcphost.events.base import Event, Subscription


@dataclass(frozen=True)
class ServerSentEvent:
    data: str
    event: str | None = None
    id: str | None = None
    retry_ms: int | None = None

    def encode(self) -> bytes:
        lines: list[str] = []
        if self.id is not None:
            lines.append(f"id: {_single_line(self.id)}")
        if self.event is not None:
            lines.append(f"event: {_single_line(self.event)}")
        if self.retry_ms is not None:
            lines.append(f"retry: {self.retry_ms}")
        lines.extend(f"data: {line}" for line in self.data.split("\n"))
        return ("\n".join(lines) + "\n\n").encode()


def _single_line(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")


def event_message(event: Event) -> ServerSentEvent:
    return ServerSentEvent(data=event.to_json().decode(), event=event.kind, id=event.id)


def last_event_id(request: Request) -> str | None:
    """The id a reconnecting EventSource sends, or the ``last_event_id`` query parameter."""
    value = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    return value[:64] if value else None


async def subscription_stream(
    request: Request,
    subscription: Subscription,
    *,
    heartbeat: float,
    accept: Callable[[Event], bool] = lambda _event: True,
) -> AsyncIterator[bytes]:
    """Frames the subscription's events the caller may see; comments keep idle connections open.

    The stream ends when the client disconnects, or when the subscription ends: closed at shutdown, or lagged
    too far behind (the client then reconnects with ``Last-Event-ID`` and resumes from the replay buffer)."""
    async with subscription:
        yield ServerSentEvent(data="", event="ready", retry_ms=2000).encode()
        while not subscription.ended:
            if await request.is_disconnected():
                return
            event = await subscription.get(timeout=heartbeat)
            if event is None:
                yield b": keep-alive\n\n"
            elif accept(event):
                yield event_message(event).encode()


def sse_response(stream: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"},
    )
