"""Serving stateless (2026-07-28) requests: validated, answered or relayed over the upstream session the gateway
holds (see ``stateless.py`` for the rules)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from mcphost.errors import AppError
from mcphost.gateway.asgi import JSON_HEADERS, Receive, Send, accepts_json, respond, respond_json, until_disconnected
from mcphost.gateway.errors import error_body, respond_unavailable
from mcphost.gateway.input_required import MRTR_METHODS, PendingRequests
from mcphost.gateway.listen import SUBSCRIPTION_ID, Listener, ListenStream, agreed_filter
from mcphost.gateway.param_headers import HeaderMismatch, check_param_headers, tool_headers
from mcphost.gateway.relay import relay, write_stream
from mcphost.gateway.request_state import RequestStateSealer
from mcphost.gateway.sessions import StatelessSession
from mcphost.gateway.stateless import (
    HEADER_MISMATCH,
    STATELESS_VERSION,
    STATUSES,
    StatelessError,
    as_stateless_result,
    check_headers,
    check_method,
    check_version,
    discover,
    log_floor,
    request_meta,
    upstream_params,
)
from mcphost.gateway.stateless_relay import Client, relay_in_rounds
from mcphost.gateway.upstreams import instance_key
from mcphost.mcp.event_stream import EventStream
from mcphost.mcp.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    ConnectionClosed,
    InvalidMessage,
    JsonRpcError,
    Message,
    classify,
    error_response,
)
from mcphost.servers.running import RELAYED_CLIENT_CAPABILITIES

if TYPE_CHECKING:
    from mcphost.gateway.access import Grant
    from mcphost.gateway.upstreams import Upstream, Upstreams
    from mcphost.mcp.mux import UpstreamMux
    from mcphost.platform import Platform
    from mcphost.settings import GatewaySettings

Cors = list[tuple[bytes, bytes]]
LISTEN_KEEPALIVE_SECONDS = 20.0


class StatelessEra:
    def __init__(self, platform: Platform, settings: GatewaySettings, upstreams: Upstreams) -> None:
        self.platform = platform
        self.settings = settings
        self.upstreams = upstreams
        self.listening: set[ListenStream] = set()
        #: Requests paused for their clients' input (multi-round-trip requests), kept as long as a request may take.
        self.pending = PendingRequests(
            RequestStateSealer(self.platform.keys.request_state),
            wait_seconds=settings.request_timeout_seconds,
        )

    def stop(self) -> None:
        """End every paused request (their servers are answered with an error) and every listen stream gracefully:
        the subscription's result, then the end of the stream."""
        self.pending.close()
        for stream in list(self.listening):
            result = {"resultType": "complete", "_meta": {SUBSCRIPTION_ID: stream.subscription_id}}
            EventStream.push(stream, {"jsonrpc": "2.0", "id": stream.subscription_id, "result": result})
            stream.finish()

    async def _listen(self, running: Upstream, message: Message, receive: Receive, send: Send, cors: Cors) -> None:
        mux = running.mux
        assert mux is not None
        manifest = running.session.manifest if running.session is not None else None
        params = message.get("params")
        requested = params.get("notifications") if type(params) is dict else None
        agreed = agreed_filter(requested, manifest.capabilities if manifest else {})
        stream = ListenStream(message["id"], agreed, self.settings.event_buffer)
        stream.acknowledge(agreed)
        listener = Listener(stream)
        mux.sessions.add(listener)  # type: ignore[arg-type]
        self.listening.add(stream)
        try:
            await mux.subscribe(stream.subscriptions)
            writing = write_stream(send, stream, cors, priming=False, keepalive=LISTEN_KEEPALIVE_SECONDS)
            await until_disconnected(receive, writing)
        finally:
            mux.sessions.discard(listener)
            self.listening.discard(stream)

    async def post(
        self,
        grant: Grant,
        headers: dict[bytes, bytes],
        document: Any,
        size: int,
        receive: Receive,
        send: Send,
        cors: Cors,
    ) -> None:

        if type(document) is not dict:
            await respond_json(send, 400, error_body(INVALID_REQUEST, "Batches do not exist in 2026-07-28."), cors)
            return
        try:
            kind = classify(document)
        except InvalidMessage as exc:
            await respond_json(send, 400, error_body(INVALID_REQUEST, f"Invalid request: {exc}"), cors)
            return
        if kind != "request":
            await respond(send, 202, b"", cors)  # nothing to relay: there is no session to notify or answer in
            return
        request_id = document["id"]
        try:
            version, capabilities, client_info = request_meta(document)
            check_headers(document, version, headers)
            check_version(version)
            check_method(document["method"])
        except StatelessError as exc:
            await respond_json(send, exc.status, error_response(request_id, exc.error), cors)
            return
        key = instance_key(grant, None)
        try:
            running = await self.upstreams.running_for(grant, key, RELAYED_CLIENT_CAPABILITIES, None)
        except AppError as exc:
            await respond_unavailable(send, exc, request_id, cors)
            return
        if document["method"] == "server/discover":
            manifest = running.session.manifest.to_dict() if running.session and running.session.manifest else {}
            answer = {"jsonrpc": "2.0", "id": request_id, "result": discover(manifest)}
            await respond(send, 200, orjson.dumps(answer), JSON_HEADERS + cors)
            return
        assert running.mux is not None
        if document["method"] == "subscriptions/listen":
            await self._listen(running, document, receive, send, cors)
            return
        try:
            floor = log_floor(document)
        except StatelessError as exc:
            await respond_json(send, exc.status, error_response(request_id, exc.error), cors)
            return
        method = document["method"]
        refusal = grant.withheld.refusal(method, document.get("params"))
        if refusal is not None:
            error = JsonRpcError(INVALID_PARAMS, refusal[0], {"reason": refusal[1]})
            await respond_json(send, 200, error_response(request_id, error), cors)
            return
        message = {**document, "params": upstream_params(document.get("params"))}
        if message["params"] is None:
            del message["params"]
        timeout = self.settings.request_timeout_seconds
        if method == "tools/call":
            refused = await self._check_param_headers(running.mux, message, headers, timeout)
            if refused is not None:
                await respond_json(send, refused.status, error_response(request_id, refused.error), cors)
                return
        if method in MRTR_METHODS:
            client = Client(grant, key, STATELESS_VERSION, capabilities, client_info or {})
            await relay_in_rounds(
                send,
                mux=running.mux,
                store=self.pending,
                client=client,
                message=message,
                traces=self.platform.traces,
                timeout=timeout,
                json_ok=accepts_json(headers),
                request_bytes=size,
                headers=cors,
                statuses=STATUSES,
                log_floor=floor,
                transform=grant.withheld.hiding(as_stateless_result),
            )
            return
        session = StatelessSession(
            server_id=grant.server_id,
            principal=grant.principal,
            upstream_key=key,
            protocol_version=STATELESS_VERSION,
            client_capabilities=capabilities,
            client_info=client_info or {},
        )
        await relay(
            send,
            mux=running.mux,
            session=session,
            message=message,
            grant=grant,
            traces=self.platform.traces,
            timeout=timeout,
            json_ok=accepts_json(headers),
            request_bytes=size,
            extra_headers=cors,
            transform=grant.withheld.hiding(as_stateless_result),
            statuses=STATUSES,
            log_floor=floor,
        )

    async def _check_param_headers(
        self,
        mux: UpstreamMux,
        message: Message,
        headers: dict[bytes, bytes],
        timeout: float,  # noqa: ASYNC109 -- bounds the tools/list the gateway sends itself
    ) -> StatelessError | None:
        """Why a tools/call's ``Mcp-Param-*`` headers are refused (None when they agree with its arguments)."""
        params = message.get("params")
        name = params.get("name") if type(params) is dict else None
        try:
            marked = (await tool_headers(mux, timeout)).get(name) if type(name) is str else None
        except (JsonRpcError, TimeoutError, ConnectionClosed) as exc:
            reason = exc.message if isinstance(exc, JsonRpcError) else str(exc) or type(exc).__name__
            message_ = f"The server's tools could not be listed to check the Mcp-Param headers: {reason}"
            return StatelessError(502, INTERNAL_ERROR, message_)
        if marked:
            try:
                check_param_headers(marked, params.get("arguments"), headers)  # type: ignore[union-attr]
            except HeaderMismatch as exc:
                return StatelessError(400, HEADER_MISMATCH, str(exc))
        return None
