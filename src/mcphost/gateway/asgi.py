"""Raw ASGI plumbing for the gateway: reading a capped body, plain responses, and server-sent events.

The gateway answers without Starlette's request/response objects: each helper sends the ASGI messages itself,
with headers as pre-encoded byte pairs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

import orjson

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

JSON_HEADERS: Final = [(b"content-type", b"application/json")]
SSE_HEADERS: Final = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]


class BodyTooLarge(Exception):
    """The request body is larger than allowed."""


class Disconnected(Exception):
    """The client went away before its request body arrived."""


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a header (names are lower-case in ASGI)."""
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


def headers_of(scope: Scope) -> dict[bytes, bytes]:
    """All headers, first value wins; for handlers that look at several."""
    found: dict[bytes, bytes] = {}
    for key, value in scope["headers"]:
        found.setdefault(key, value)
    return found


def accepts_json(headers: dict[bytes, bytes]) -> bool:
    """Whether the client takes an ``application/json`` answer (no Accept header means yes)."""
    accept = headers.get(b"accept", b"application/json")
    return b"application/json" in accept or b"*/*" in accept


async def read_body(receive: Receive, declared: bytes | None, limit: int) -> bytes:
    """The whole body, refusing more than ``limit`` bytes (by Content-Length before reading, and while reading)."""
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLarge
        except ValueError:
            pass
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body"):
        if message["type"] == "http.disconnect":
            raise Disconnected
        return body  # type: ignore[no-any-return]
    chunks = [body]
    size = len(body)
    while True:
        if message["type"] == "http.disconnect":
            raise Disconnected
        if not message.get("more_body"):
            return b"".join(chunks)
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)


async def respond(send: Send, status: int, body: bytes = b"", headers: Headers | None = None) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers or []})
    await send({"type": "http.response.body", "body": body})


async def respond_json(send: Send, status: int, document: Any, headers: Headers | None = None) -> None:
    await respond(send, status, orjson.dumps(document), JSON_HEADERS + (headers or []))


def sse_event(data: bytes, event_id: str | None = None, *, retry_ms: int | None = None) -> bytes:
    """One server-sent event carrying a JSON document (which never contains a raw newline)."""
    parts = []
    if event_id is not None:
        parts.append(b"id: " + event_id.encode())
    if retry_ms is not None:
        parts.append(b"retry: %d" % retry_ms)
    parts.append(b"data: " + data)
    return b"\n".join(parts) + b"\n\n"


async def wait_disconnect(receive: Receive) -> None:
    """Return when the client disconnects (for streams, whose request body was already read)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def until_disconnected(receive: Receive, work: Awaitable[None]) -> None:
    """Run ``work`` (which streams a response) until it ends or the client goes away, whichever is first."""
    watcher = asyncio.ensure_future(wait_disconnect(receive))
    task = asyncio.ensure_future(work)
    try:
        await asyncio.wait({watcher, task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (watcher, task):
            if not pending.done():
                pending.cancel()
        await asyncio.gather(watcher, task, return_exceptions=True)
