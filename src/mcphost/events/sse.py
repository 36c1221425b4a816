"""Server-Sent Events: framing, keep-alive comments, event ids, ending streams on disconnect or shutdown."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import StreamingResponse

from mcphost.events.base import Event, Subscription

KEEP_ALIVE = b": keep-alive\n\n"
# What ends a line for an EventSource: CRLF, a lone CR or a lone LF (not the other separators of splitlines).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


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
        lines.extend(f"data: {line}" for line in _LINE_BREAK.split(self.data))
        return ("\n".join(lines) + "\n\n").encode()


def _single_line(value: str) -> str:
    # A NUL makes an EventSource ignore the whole id field.
    return value.replace("\r", " ").replace("\n", " ").replace("\0", "")


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
    recheck: Callable[[Event], bool] = lambda _event: False,
    still_allowed: Callable[[], Awaitable[bool]] | None = None,
    first: Sequence[ServerSentEvent] = (),
) -> AsyncIterator[bytes]:
    """Frames the subscription's events the caller may see; comments keep idle connections open.

    A keep-alive comment goes out whenever nothing was written for ``heartbeat`` seconds, however many events
    for others pass by. ``still_allowed`` is asked every ``heartbeat`` seconds and whenever ``recheck`` flags
    an event; when it answers no (signed out, disabled), the stream ends.

    The stream ends when the client disconnects, or when the subscription ends: closed at shutdown, or lagged
    too far behind (the client then reconnects with ``Last-Event-ID`` and resumes from the replay buffer)."""
    loop = asyncio.get_running_loop()
    async with subscription:
        yield ServerSentEvent(data="", event="ready", retry_ms=2000).encode()
        for message in first:  # the current state, so a client needs no separate request to start from
            yield message.encode()
        quiet_until = check_at = loop.time() + heartbeat
        while not subscription.ended:
            if await request.is_disconnected():
                return
            event = await subscription.get(timeout=max(0.0, min(quiet_until, check_at) - loop.time()))
            now = loop.time()
            if still_allowed is not None and (now >= check_at or (event is not None and recheck(event))):
                if not await still_allowed():
                    return
                now = loop.time()
                check_at = now + heartbeat
            if event is not None and accept(event):
                yield event_message(event).encode()
                quiet_until = now + heartbeat
            elif now >= quiet_until and not subscription.ended:
                yield KEEP_ALIVE
                quiet_until = now + heartbeat


def sse_response(stream: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"},
    )
