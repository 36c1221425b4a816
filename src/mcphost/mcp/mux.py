"""One upstream connection shared by many client sessions.

The mux sits below both of its users: the node agent wraps each instance's connection in one, and the gateway relays
its client sessions through it (they implement ``RelayedSession``), so neither imports the other.

Requests go out with the connection's own ids (``roundtrip``) and their answers are given back under the client's
id. Everything the server sends outside an answer is routed to the session it belongs to:

- progress, by the progress token, which the gateway rewrites per request so two clients' tokens never collide;
- server→client requests (sampling, elicitation, roots) and log messages, to the request in flight on this
  upstream that started last (a stdio server cannot say which request it works for; with ``per_session``
  isolation there is only ever one client, so the routing is exact); log messages only at or above the level that
  request asked for (a stateless request that asked for none gets none);
- resource updates to the sessions subscribed to that resource, everything else to every session using it.

A server→client request is sent to the client under a gateway id (``mcph-N``); the client's answer, POSTed back,
resolves it and the result goes upstream under the server's own id. A stateless (2026-07-28) request cannot be sent
requests: its session asks its client with an ``input_required`` result instead (``gateway/input_required.py``).
"""

# ruff: noqa: ASYNC109 -- the request timeout is relayed: on expiry the upstream is told to cancel.
from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from typing import Any, Final, Protocol, cast

from mcphost.mcp.event_stream import EventStream
from mcphost.mcp.jsonrpc import INTERNAL_ERROR, METHOD_NOT_FOUND, ConnectionClosed, JsonRpcError, Message, RequestId

log = logging.getLogger(__name__)

#: The log levels, least severe first (``notifications/message`` below a request's level is not relayed).
LOG_LEVELS: Final = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
#: The ``log_floor`` of a request that asked for no log messages.
NO_LOGS: Final = len(LOG_LEVELS)
_SEVERITY: Final = {level: index for index, level in enumerate(LOG_LEVELS)}

#: The client capability a server→client request needs.
REQUIRED_CAPABILITY: Final = {
    "sampling/createMessage": "sampling",
    "elicitation/create": "elicitation",
    "roots/list": "roots",
}


class UpstreamConnection(Protocol):
    async def roundtrip(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None
    ) -> Message: ...

    async def send_raw(self, message: Message) -> None: ...


class RelayedSession(Protocol):
    """A client session as the mux sees it: the gateway's sessions of either protocol era implement it."""

    @property
    def stateful(self) -> bool: ...

    @property
    def closed(self) -> bool: ...

    @property
    def client_capabilities(self) -> dict[str, Any]: ...

    @property
    def subscriptions(self) -> set[str]: ...

    @property
    def inflight(self) -> dict[RequestId, Exchange]:
        """The session's requests being relayed, by the client's id (its ``notifications/cancelled`` names them)."""
        ...

    def open_stream(self) -> EventStream: ...


class SharedSession(RelayedSession, Protocol):
    """A stateful session sharing an upstream: its stream for messages of no request, and the server→client
    requests waiting for its client's answer."""

    @property
    def general(self) -> EventStream: ...

    @property
    def server_requests(self) -> dict[str, asyncio.Future[Message]]: ...


class Exchange:
    """One client request in flight: where the server's messages about it go."""

    __slots__ = ("cancelled", "client_id", "log_floor", "on_stream", "progress_token", "session", "stream", "task")

    def __init__(self, session: RelayedSession, client_id: RequestId) -> None:
        self.session = session
        self.client_id = client_id
        self.stream: EventStream | None = None
        #: Called once, when the first message for the client arrives: the HTTP layer starts an SSE answer.
        self.on_stream: Callable[[EventStream], None] | None = None
        self.progress_token: Any = None
        self.task: asyncio.Task[Any] | None = None
        self.cancelled = False
        #: The least severe log level relayed to this request (``NO_LOGS``: none).
        self.log_floor = 0

    def push(self, message: Message) -> None:
        stream = self.stream
        if stream is None:
            stream = self.stream = self.session.open_stream()
            if self.on_stream is not None:
                self.on_stream(stream)
        stream.push(message)

    def cancel(self) -> None:
        """Stop waiting for the answer (the upstream is told); the client gets a "cancelled" error."""
        if self.task is not None and not self.task.done() and not self.cancelled:
            self.cancelled = True
            self.task.cancel()


class UpstreamMux:
    """Routes one upstream connection's traffic to and from the client sessions that use it."""

    def __init__(self, connection: UpstreamConnection, *, name: str, request_timeout: float) -> None:
        self.connection = connection
        self.name = name
        self.request_timeout = request_timeout
        self.sessions: set[SharedSession] = set()
        self._inflight: dict[int, Exchange] = {}
        self._progress: dict[str, Exchange] = {}
        self._seq = itertools.count(1)
        self._server_ids = itertools.count(1)
        #: The tools' ``x-mcp-header`` parameters, learnt from tools/list when a stateless client needs them
        #: (``param_headers.tool_headers``); forgotten when the server says its tools changed.
        self.tool_headers: Any = None
        self.tools_generation = 0

    @property
    def busy(self) -> bool:
        """Whether a client request is in flight on this upstream."""
        return bool(self._inflight)

    # -- client → server ---------------------------------------------------------------------------------------

    async def call(
        self, exchange: Exchange, method: str, params: dict[str, Any] | None, timeout: float | None
    ) -> Message:
        """Relay one request; the answer as the server sent it (its id is the connection's, not the client's).
        ``timeout`` None waits as long as the connection lives (the caller bounds the wait)."""
        seq = next(self._seq)
        if params is not None:
            meta = params.get("_meta")
            if type(meta) is dict and "progressToken" in meta:
                exchange.progress_token = meta["progressToken"]
                token = f"mcph-{self.name}-{seq}"
                self._progress[token] = exchange
                params = {**params, "_meta": {**meta, "progressToken": token}}
        self._inflight[seq] = exchange
        try:
            return await self.connection.roundtrip(method, params, timeout=timeout)
        finally:
            del self._inflight[seq]
            if exchange.progress_token is not None:
                self._progress.pop(f"mcph-{self.name}-{seq}", None)

    async def subscribe(self, uris: set[str]) -> None:
        """Ask the upstream for updates of these resources (what sessions subscribed to, relayed here)."""
        for uri in uris:
            with contextlib.suppress(ConnectionClosed, TimeoutError):
                await self.connection.roundtrip("resources/subscribe", {"uri": uri}, timeout=self.request_timeout)

    def take_over(self, previous: UpstreamMux) -> set[str]:
        """Relay for the client sessions ``previous`` relayed for (its instance is being replaced by this one's):
        they hear this upstream's notifications from now on and their next request goes here, while what is in
        flight on ``previous`` finishes there. Returns the resources they subscribed to, for ``subscribe``."""
        uris: set[str] = set()
        for session in list(previous.sessions):
            previous.sessions.discard(session)
            if session.closed:
                continue
            self.sessions.add(session)
            if getattr(session, "mux", None) is previous:
                session.mux = self  # type: ignore[attr-defined]  # the gateway's stateful sessions remember theirs
            uris |= session.subscriptions
        return uris

    async def notify(self, message: Message) -> None:
        async with asyncio.timeout(self.request_timeout):
            await self.connection.send_raw(message)

    # -- server → client ---------------------------------------------------------------------------------------

    def on_notification(self, message: Message) -> None:
        method = message["method"]
        params = message.get("params")
        if method == "notifications/progress" and type(params) is dict:
            exchange = self._progress.get(str(params.get("progressToken")))
            if exchange is not None:
                exchange.push({**message, "params": {**params, "progressToken": exchange.progress_token}})
            return
        if method == "notifications/message":
            latest = self._latest()
            if latest is not None:
                level = params.get("level") if type(params) is dict else None
                if _SEVERITY.get(level, 0) >= latest.log_floor:  # type: ignore[arg-type]
                    latest.push(message)
                return
        if method == "notifications/tools/list_changed":
            self.tool_headers = None
            self.tools_generation += 1
        elif method == "notifications/resources/updated" and type(params) is dict:
            uri = params.get("uri")
            for session in list(self.sessions):
                if uri in session.subscriptions:
                    session.general.push(message)
            return
        for session in list(self.sessions):
            session.general.push(message)

    async def on_request(self, message: Message) -> dict[str, Any]:
        """Ask the client a server→client request belongs to; its result (or its error, raised)."""
        method = message["method"]
        exchange = self._latest()
        session = exchange.session if exchange is not None else self._only_session()
        if session is not None and not session.stateful:
            ask = getattr(session, "ask_client", None)  # a stateless request that can answer input_required
            if ask is None:
                raise JsonRpcError(INTERNAL_ERROR, f"the client of this request cannot be sent {method}")
            asked: dict[str, Any] = await ask(method, message.get("params"))
            return asked
        if session is None:
            raise JsonRpcError(INTERNAL_ERROR, f"no client session to send {method} to (no request is in flight)")
        shared = cast(SharedSession, session)  # a stateful session: one of the gateway's client sessions
        capability = REQUIRED_CAPABILITY.get(method)
        if capability is not None and capability not in session.client_capabilities:
            raise JsonRpcError(METHOD_NOT_FOUND, f"the client did not declare the {capability} capability")
        server_id = f"mcph-{next(self._server_ids)}"
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        shared.server_requests[server_id] = future
        outgoing: Message = {"jsonrpc": "2.0", "id": server_id, "method": method}
        if "params" in message:
            outgoing["params"] = message["params"]
        target = exchange.push if exchange is not None else shared.general.push
        target(outgoing)
        try:
            async with asyncio.timeout(self.request_timeout):
                answer = await future
        except asyncio.CancelledError:
            if not session.closed:
                cancelled = {"requestId": server_id, "reason": "cancelled by the server"}
                target({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": cancelled})
            raise
        except TimeoutError:
            raise JsonRpcError(INTERNAL_ERROR, f"the client did not answer {method} in time") from None
        finally:
            shared.server_requests.pop(server_id, None)
        if "error" in answer:
            raise JsonRpcError.from_response(answer)
        result = answer.get("result")
        return result if type(result) is dict else {}

    def _latest(self) -> Exchange | None:
        inflight = self._inflight
        return next(reversed(inflight.values())) if inflight else None

    def _only_session(self) -> SharedSession | None:
        return next(iter(self.sessions)) if len(self.sessions) == 1 else None
