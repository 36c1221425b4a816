"""Relaying a stateless (2026-07-28) ``tools/call``, ``prompts/get`` or ``resources/read`` in rounds: each HTTP request
is answered with the final result, or with ``input_required`` while the server waits for its client's answers
(see ``input_required.py``). Within a round the answer is ``application/json``, or an SSE stream as soon as the server
sends progress or log messages for the request; every round is traced."""

# ruff: noqa: ASYNC109 -- the request timeout is relayed: on expiry the upstream is told to cancel.
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcphost.gateway.asgi import JSON_HEADERS, Headers, Send
from mcphost.gateway.input_required import ABSENT, InputSession, PendingRequest, PendingRequests, StateRefused
from mcphost.gateway.input_required import check_input_responses as checked_responses
from mcphost.gateway.relay import REQUEST_TIMEOUT, call_upstream, encoded, http_status, trace_of, write_stream
from mcphost.mcp.jsonrpc import INTERNAL_ERROR, JsonRpcError, Message, error_response
from mcphost.mcp.mux import Exchange

if TYPE_CHECKING:
    from mcphost.gateway.access import Grant
    from mcphost.mcp.event_stream import EventStream
    from mcphost.mcp.mux import UpstreamMux
    from mcphost.observability.traces import TraceRecorder

log = logging.getLogger(__name__)


@dataclass
class Client:
    """Who sent a stateless request and what it declared."""

    grant: Grant
    upstream_key: str
    protocol_version: str
    capabilities: dict[str, Any]
    info: dict[str, Any]


class _Round:
    """The HTTP answer of one round: JSON, or an SSE stream once the server sends anything else first."""

    def __init__(self, send: Send, headers: Headers, json_ok: bool) -> None:
        self.send = send
        self.headers = headers
        self.json_ok = json_ok
        self.writer: asyncio.Future[None] | None = None

    def attach(self, exchange: Exchange) -> None:
        exchange.stream = None
        exchange.on_stream = self._start

    def _start(self, stream: EventStream) -> None:
        self.writer = asyncio.ensure_future(write_stream(self.send, stream, self.headers, priming=True))

    async def finish(self, exchange: Exchange, answer: Message, body: bytes, statuses: Mapping[int, int]) -> None:
        stream = exchange.stream
        exchange.stream = None
        exchange.on_stream = None  # what the server sends while the client is away goes nowhere
        if stream is None and self.json_ok:
            status = http_status(answer, statuses)
            await self.send({"type": "http.response.start", "status": status, "headers": JSON_HEADERS + self.headers})
            await self.send({"type": "http.response.body", "body": body})
            return
        if stream is None:
            stream = exchange.session.open_stream()
            self._start(stream)
        stream.push(answer)
        stream.finish()
        if self.writer is not None:
            await self.writer


async def relay_in_rounds(
    send: Send,
    *,
    mux: UpstreamMux,
    store: PendingRequests,
    client: Client,
    message: Message,
    traces: TraceRecorder,
    timeout: float,
    json_ok: bool,
    request_bytes: int,
    headers: Headers,
    statuses: Mapping[int, int],
    log_floor: int,
    transform: Any,
) -> None:
    """Relay one round of ``message`` (its params already without the 2026-07-28 ``_meta`` keys)."""
    request_id = message["id"]
    method: str = message["method"]
    params = dict(message.get("params") or {})
    state = params.pop("requestState", None)
    responses = params.pop("inputResponses", ABSENT)
    grant = client.grant
    started_at, started = time.time(), time.perf_counter()
    round_ = _Round(send, headers, json_ok)
    pending: PendingRequest | None = None
    try:
        answers = checked_responses(responses)
        if state is None:
            pending = _start(mux, store, client, request_id, method, params, answers, transform)
        else:
            pending = store.resume(
                state, principal=grant.principal, server_id=str(grant.server_id), method=method, params=params
            )
            pending.capabilities = client.capabilities
            try:
                pending.answer(answers)
            except JsonRpcError:
                store.hold(pending)  # the same requestState stays good for a corrected retry
                raise
        exchange = pending.exchange
        assert exchange is not None
        exchange.log_floor = log_floor
        meta = params.get("_meta")
        if type(meta) is dict and "progressToken" in meta:
            exchange.progress_token = meta["progressToken"]
        round_.attach(exchange)
        try:
            answer = await _outcome(pending, store, request_id, method, timeout)
        except asyncio.CancelledError:  # this request is abandoned (the gateway stops): so is the call it holds
            store.release(pending)
            pending.fail(JsonRpcError(INTERNAL_ERROR, "The request was abandoned."))
            raise
    except StateRefused as exc:
        answer = error_response(request_id, exc.error)
    except JsonRpcError as exc:
        answer = error_response(request_id, exc)
    answer, body = encoded(answer, method)
    if pending is not None and pending.exchange is not None and pending.exchange.on_stream is not None:
        await round_.finish(pending.exchange, answer, body, statuses)
    else:
        await _respond_json(send, answer, body, headers, statuses)
    session = pending.exchange.session if pending is not None and pending.exchange is not None else None
    duration = time.perf_counter() - started
    traces.record(trace_of(grant, session, message, answer, started_at, duration, request_bytes, len(body)))


def _start(
    mux: UpstreamMux,
    store: PendingRequests,
    client: Client,
    request_id: Any,
    method: str,
    params: dict[str, Any],
    answers: dict[str, Any],
    transform: Any,
) -> PendingRequest:
    grant = client.grant
    pending = store.create(
        principal=grant.principal,
        server_id=str(grant.server_id),
        method=method,
        params=params,
        capabilities=client.capabilities,
        answers=answers,
    )
    session = InputSession(
        server_id=grant.server_id,
        principal=grant.principal,
        upstream_key=client.upstream_key,
        protocol_version=client.protocol_version,
        client_capabilities=client.capabilities,
        client_info=client.info,
        pending=pending,
    )
    pending.exchange = Exchange(session, request_id)
    pending.start(call_upstream(mux, pending.exchange, method, params or None, None, transform))
    return pending


async def _outcome(
    pending: PendingRequest, store: PendingRequests, request_id: Any, method: str, timeout: float
) -> Message:
    """This round's answer: the final one, or ``input_required`` with a new state (the request is then held)."""
    try:
        answer = await pending.next_outcome(timeout)
    except TimeoutError:
        store.release(pending)
        pending.fail(JsonRpcError(INTERNAL_ERROR, f"The gateway stopped waiting for {method} after {timeout:g} s."))
        message = f"The server did not answer {method} within {timeout:g} s."
        return error_response(request_id, JsonRpcError(REQUEST_TIMEOUT, message))
    except Exception:
        log.exception("relaying %s failed", method)
        store.release(pending)
        pending.fail(JsonRpcError(INTERNAL_ERROR, "The gateway failed relaying this request."))
        return error_response(request_id, JsonRpcError(INTERNAL_ERROR, "The gateway failed relaying this request."))
    if answer is None:
        result = pending.input_required(store.park(pending))
        return {"jsonrpc": "2.0", "id": request_id, "result": result}
    store.release(pending)
    return {**answer, "id": request_id}


async def _respond_json(
    send: Send, answer: Message, body: bytes, headers: Headers, statuses: Mapping[int, int]
) -> None:
    status = http_status(answer, statuses)
    await send({"type": "http.response.start", "status": status, "headers": JSON_HEADERS + headers})
    await send({"type": "http.response.body", "body": body})
