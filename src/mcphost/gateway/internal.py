"""The hosting node's side of forwarded requests (ADR 0015): a request that carries the signed headers of an
internal call is checked (``security/internal_calls.py``) instead of a client credential, and served for the grant it
carries as if that client had come here: the same session store, the same relay, traces for the same principal.

Two operations: ``relay`` (a client's POST, GET or DELETE, answered as it would be to the client) and ``invoke``
(one request of the platform's own, such as a workflow step: a JSON answer with the server's message and duration).
A forwarded request for a server this node does not host is refused, never forwarded again."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from mcphost.gateway.asgi import BodyTooLarge, Disconnected, Receive, Scope, Send, read_body, respond, respond_json
from mcphost.gateway.calls import call_once
from mcphost.gateway.errors import GATEWAY_ERROR, UpstreamUnavailable, error_body
from mcphost.gateway.forward import INVOKE_OP, RELAY_OP, target_of
from mcphost.gateway.grants import decode_grant
from mcphost.security.internal_calls import InternalCallRefused

if TYPE_CHECKING:
    from mcphost.gateway.access import Grant
    from mcphost.gateway.upstreams import Upstreams
    from mcphost.observability.traces import TraceRecorder
    from mcphost.security.internal_calls import InternalCallSigner

log = logging.getLogger(__name__)

#: Serves a relayed request: (HTTP method, grant, headers, body, receive, send).
Serve = Callable[[str, "Grant", dict[bytes, bytes], bytes, Receive, Send], Awaitable[None]]


class InternalCalls:
    def __init__(
        self,
        signer: InternalCallSigner,
        upstreams: Upstreams,
        traces: TraceRecorder,
        *,
        max_bytes: int,
        serve: Serve,
    ) -> None:
        self.signer = signer
        self.upstreams = upstreams
        self.traces = traces
        self.max_bytes = max_bytes
        self.serve = serve

    async def handle(self, scope: Scope, slug: str, headers: dict[bytes, bytes], receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        try:
            body = await read_body(receive, headers.get(b"content-length"), self.max_bytes) if method == "POST" else b""
        except BodyTooLarge:
            await respond_json(send, 413, error_body(GATEWAY_ERROR, "The message is too large.", "too_large"))
            return
        except Disconnected:
            return
        target = target_of(scope)
        try:
            call = self.signer.verify(headers, method, target, body)
            grant = decode_grant(call.grant)
        except (InternalCallRefused, ValueError) as exc:
            log.warning("refused an internal call to %s %s from %s: %s", method, target, scope.get("client"), exc)
            body_ = error_body(GATEWAY_ERROR, f"Internal call refused: {exc}.", "internal_call_refused")
            await respond_json(send, 401, body_)
            return
        if grant.slug != slug:
            await respond_json(send, 400, error_body(GATEWAY_ERROR, "The grant is for another server.", "grant"))
            return
        if not self.upstreams.hosted_here(grant):
            message = (
                f"Node '{self.signer.node}' got a request for '{slug}' from node '{call.node}', but does not host it "
                f"(node '{grant.node}' does)."
            )
            await respond_json(
                send, 503, error_body(GATEWAY_ERROR, message, "not_hosted_here"), [(b"retry-after", b"2")]
            )
            return
        if call.op == INVOKE_OP and method == "POST":
            await self._invoke(grant, body, send)
        elif call.op == RELAY_OP:
            await self.serve(method, grant, headers, body, receive, send)
        else:
            await respond(send, 400, b"unknown internal operation")

    async def _invoke(self, grant: Grant, body: bytes, send: Send) -> None:
        try:
            request: dict[str, Any] = orjson.loads(body)
            method, params, timeout = str(request["method"]), request.get("params"), float(request["timeout"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            await respond_json(send, 400, error_body(GATEWAY_ERROR, "An invoke needs method and timeout.", "invoke"))
            return
        try:
            answer, duration = await call_once(self.upstreams, self.traces, grant, method, params, timeout)
        except UpstreamUnavailable as exc:
            headers = [(name.lower().encode(), value.encode()) for name, value in exc.headers.items()]
            await respond_json(send, exc.status_code, error_body(GATEWAY_ERROR, exc.message, exc.code), headers)
            return
        await respond_json(send, 200, {"answer": answer, "duration": duration})
