"""Relaying one client request to its upstream and answering it: ``application/json`` when the answer is all there
is, ``text/event-stream`` as soon as the server sends anything else for that request (progress, log messages,
server→client requests), then the answer last. Every relayed request is traced."""

# ruff: noqa: ASYNC109 -- the request timeout is relayed: on expiry the upstream is told to cancel.
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import orjson

from mcphost.gateway.asgi import JSON_HEADERS, SSE_HEADERS, Headers, Send, sse_event
from mcphost.mcp.jsonrpc import ConnectionClosed, JsonRpcError, Message, error_response
from mcphost.mcp.mux import Exchange
from mcphost.observability.traces import Invocation

if TYPE_CHECKING:
    from mcphost.gateway.access import Grant
    from mcphost.gateway.sessions import ClientSession, StatelessSession
    from mcphost.mcp.event_stream import EventStream
    from mcphost.mcp.mux import RelayedSession, UpstreamMux
    from mcphost.observability.traces import TraceRecorder

log = logging.getLogger(__name__)

REQUEST_TIMEOUT: Final = -32001
REQUEST_CANCELLED: Final = -32800
UPSTREAM_FAILED: Final = -32603
RETRY_MS: Final = 2000
#: Which parameter names the object of a request, for traces.
NAMED_BY: Final = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri", "completion/complete": "ref"}


def subject_of(method: str, params: Any) -> str | None:
    key = NAMED_BY.get(method)
    if key is None or type(params) is not dict:
        return None
    value = params.get(key)
    if type(value) is dict:  # completion/complete: {"type": "ref/prompt", "name": …} or {"uri": …}
        value = value.get("name") or value.get("uri")
    return value if type(value) is str else None


async def relay(
    send: Send,
    *,
    mux: UpstreamMux,
    session: ClientSession | StatelessSession,
    message: Message,
    grant: Grant,
    traces: TraceRecorder,
    timeout: float,
    json_ok: bool,
    request_bytes: int,
    extra_headers: Headers | None = None,
    transform: Any = None,
    statuses: Mapping[int, int] | None = None,
    log_floor: int = 0,
) -> None:
    """Relay ``message`` (a request) over ``mux`` and send the HTTP answer. ``transform`` may rewrite the result;
    ``statuses`` maps JSON-RPC error codes to the HTTP status of a JSON answer (200 otherwise); ``log_floor`` is the
    least severe log level relayed (see ``Exchange.log_floor``)."""
    client_id = message["id"]
    method: str = message["method"]
    params = message.get("params")
    exchange = Exchange(session, client_id)
    exchange.log_floor = log_floor
    writer: asyncio.Future[None] | None = None
    headers = extra_headers or []
    priming = session.protocol_version >= "2025-11-25"

    def start_stream(stream: EventStream) -> None:
        nonlocal writer
        writer = asyncio.ensure_future(write_stream(send, stream, headers, priming=priming))

    exchange.on_stream = start_stream
    started_at = time.time()
    started = time.perf_counter()
    answer = await call_upstream(mux, exchange, method, params, timeout, transform)
    duration = time.perf_counter() - started
    answer, body = encoded(answer, method)
    stream = exchange.stream
    if stream is None:
        if json_ok:
            status = http_status(answer, statuses) if statuses is not None else 200
            await send({"type": "http.response.start", "status": status, "headers": JSON_HEADERS + headers})
            await send({"type": "http.response.body", "body": body})
        else:
            stream = session.open_stream()
            stream.push(answer)
            stream.finish()
            await write_stream(send, stream, headers, priming=priming)
    else:
        stream.push(answer)
        stream.finish()
        if writer is not None:
            await writer
    traces.record(trace_of(grant, session, message, answer, started_at, duration, request_bytes, len(body)))


async def call_upstream(
    mux: UpstreamMux,
    exchange: Exchange,
    method: str,
    params: Any,
    timeout: float | None,
    transform: Any = None,
) -> Message:
    """The answer to one relayed request under the client's id: the server's, or a JSON-RPC error when it timed
    out, the server died, or the client cancelled. ``timeout`` None: the caller bounds the wait."""
    session, client_id = exchange.session, exchange.client_id
    exchange.task = asyncio.current_task()
    session.inflight[client_id] = exchange
    try:
        answer = await mux.call(exchange, method, params, timeout)
        answer["id"] = client_id
        if transform is not None and type(answer.get("result")) is dict:
            transform(method, answer["result"])
    except TimeoutError:
        within = f" within {timeout:g} s" if timeout is not None else ""
        answer = _error(client_id, REQUEST_TIMEOUT, f"The server did not answer {method}{within}.")
    except ConnectionClosed:
        answer = _error(
            client_id, UPSTREAM_FAILED, "The server exited while handling this request; it is being restarted."
        )
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if not exchange.cancelled or task is None:
            raise
        task.uncancel()
        answer = _error(client_id, REQUEST_CANCELLED, "The request was cancelled.")
    finally:
        if session.inflight.get(client_id) is exchange:
            del session.inflight[client_id]
    return answer


def http_status(answer: Message, statuses: Mapping[int, int]) -> int:
    """The HTTP status of a JSON answer: what ``statuses`` says for its error code, else 200."""
    error = answer.get("error")
    if type(error) is dict:
        return statuses.get(error.get("code"), 200)  # type: ignore[arg-type]
    return 200


def encoded(answer: Message, method: str) -> tuple[Message, bytes]:
    """The answer and its JSON; an error in its place when the server's answer cannot be written back as JSON
    (orjson reads 1024 levels of nesting but writes at most 254: a hostile server may answer that deep)."""
    try:
        return answer, orjson.dumps(answer)
    except orjson.JSONEncodeError as exc:
        failed = _error(answer.get("id"), UPSTREAM_FAILED, f"The server's answer to {method} cannot be relayed: {exc}.")
        return failed, orjson.dumps(failed)


def trace_of(
    grant: Grant,
    session: RelayedSession | None,
    message: Message,
    answer: Message,
    started_at: float,
    duration: float,
    request_bytes: int,
    response_bytes: int,
) -> Invocation:
    method = message["method"]
    params = message.get("params")
    return Invocation(
        server_id=grant.server_id,
        server_slug=grant.slug,
        method=method,
        name=subject_of(method, params),
        session_id=getattr(session, "id", None),
        user_id=grant.user_id,
        key_id=grant.key_id,
        request_id=message.get("id"),
        params=params,
        result=answer.get("result"),
        error=answer.get("error"),
        started_at=started_at,
        duration=duration,
        request_bytes=request_bytes,
        response_bytes=response_bytes,
    )


def _error(client_id: Any, code: int, message: str) -> Message:
    return error_response(client_id, JsonRpcError(code, message))


async def write_stream(
    send: Send, stream: EventStream, headers: Headers, *, priming: bool, after: int = 0, keepalive: float = 0
) -> None:
    """Answer with an SSE stream of ``stream``'s events after ``after``, until it is done (or, with ``keepalive``,
    sending a comment whenever it was quiet that long)."""
    try:
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS + headers})
        if priming and after == 0:
            primer = sse_event(b"", stream.event_id(0), retry_ms=RETRY_MS)
            await send({"type": "http.response.body", "body": primer, "more_body": True})
        async for seq, data in stream.follow(after, keepalive=keepalive):
            chunk = b": keepalive\n\n" if seq < 0 else sse_event(data, stream.event_id(seq))
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    except (OSError, RuntimeError) as exc:  # the client went away; what it missed stays buffered for Last-Event-ID
        log.debug("an event stream ended early: %r", exc)
