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
    return acceptable(headers.get(b"accept"))[0]


def acceptable(accept: bytes | None) -> tuple[bool, bool]:
    """Whether an Accept header admits ``application/json`` and ``text/event-stream`` answers (the two an MCP
    endpoint gives); no header (or an empty one) admits both. Media ranges and ``q=0`` count, the most specific
    range winning. Clients send the same few values, so answers are remembered."""
    if accept is None or not accept.strip():
        return True, True
    known = _ACCEPTABLE.get(accept)
    if known is None:
        if len(_ACCEPTABLE) >= _ACCEPTABLE_KEPT:
            _ACCEPTABLE.clear()
        ranges = _media_ranges(accept)
        known = _ACCEPTABLE[accept] = (
            _admits(ranges, b"application", b"json"),
            _admits(ranges, b"text", b"event-stream"),
        )
    return known


_ACCEPTABLE: dict[bytes, tuple[bool, bool]] = {}
_ACCEPTABLE_KEPT: Final = 256


def _media_ranges(accept: bytes) -> list[tuple[bytes, bytes, bool]]:
    """(type, subtype, acceptable) per media range of an Accept header; ``q=0`` means not acceptable."""
    ranges = []
    for part in accept.lower().split(b","):
        media, *params = part.split(b";")
        kind, _, subtype = media.strip().partition(b"/")
        refused = any(
            name.strip() == b"q" and value.strip().rstrip(b"0").rstrip(b".") in (b"", b"0")
            for name, _, value in (param.partition(b"=") for param in params)
        )
        if kind:
            ranges.append((kind, subtype.strip() or b"*", not refused))
    return ranges


def _admits(ranges: list[tuple[bytes, bytes, bool]], kind: bytes, subtype: bytes) -> bool:
    best, admitted = -1, False
    for range_kind, range_subtype, ok in ranges:
        if range_kind == kind and range_subtype == subtype:
            specificity = 2
        elif range_kind == kind and range_subtype == b"*":
            specificity = 1
        elif range_kind == b"*" and range_subtype == b"*":
            specificity = 0
        else:
            continue
        if specificity > best:
            best, admitted = specificity, ok
    return admitted


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
