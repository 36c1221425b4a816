"""Forwarding a client's request to the node that hosts its server (ADR 0015).

A replica that does not host a server, and cannot relay to its upstream itself (a stdio server, a per-user or
per-session one, an endpoint on another machine), sends the request to the hosting node's internal address as it came
(POST, GET or DELETE; headers but the credential, cookies, origin and hop-by-hop ones; the body) with a signed grant
(``security/internal_calls.py``), and passes the answer back as it comes: status, headers, and the body chunk by
chunk, so event streams flow through. The session lives on the hosting node, whichever replica the client reaches.

The node's address comes from the node directory (no database read per request). A node that is down (its heartbeat
too old, or stopped) or does not answer gives 503 saying which node and since when."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import orjson

from mcphost.gateway.asgi import Receive, Scope, Send, respond_json, until_disconnected
from mcphost.gateway.errors import GATEWAY_ERROR, UpstreamUnavailable, error_body
from mcphost.gateway.grants import encode_grant
from mcphost.gateway.wire import Answer, ConnectFailed, Pool
from mcphost.mcp.jsonrpc import Message
from mcphost.security.internal_calls import HEADERS as INTERNAL_HEADERS

if TYPE_CHECKING:
    from mcphost.gateway.access import Grant
    from mcphost.nodes.directory import NodeDirectory, NodeView
    from mcphost.security.internal_calls import InternalCallSigner
    from mcphost.settings import NodeSettings

log = logging.getLogger(__name__)

RELAY_OP: Final = "relay"
INVOKE_OP: Final = "invoke"
#: Request headers that stay here: the client's credentials and what only concerns this hop.
_DROPPED: Final = frozenset(
    {
        b"host",
        b"authorization",
        b"cookie",
        b"origin",
        b"connection",
        b"keep-alive",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"content-length",
        *INTERNAL_HEADERS,
    }
)
#: Answer headers that are this hop's own (the server adds its own date and server, CORS is this replica's).
_HOP: Final = frozenset(
    {b"connection", b"keep-alive", b"transfer-encoding", b"date", b"server", b"trailer", b"upgrade"}
)


class Forwarder:
    def __init__(self, nodes: NodeDirectory, signer: InternalCallSigner, settings: NodeSettings) -> None:
        self.nodes = nodes
        self.signer = signer
        self.settings = settings
        self._pool = Pool(connect_timeout=settings.forward_connect_timeout_seconds)

    async def close(self) -> None:
        self._pool.close()

    async def node_of(self, grant: Grant) -> NodeView:
        """The hosting node, if it is up; raises ``UpstreamUnavailable`` saying why not."""
        name = grant.node or ""
        view = await self.nodes.find(name)
        if view is None:
            raise _unavailable(f"The server '{grant.slug}' is hosted by node '{name}', which has not registered.")
        state = self.nodes.state(view)
        if state != "up":
            since = view.down_since(self.settings.down_after_seconds)
            verb = "stopped at" if state == "stopped" else "is down since"
            raise _unavailable(
                f"The server '{grant.slug}' is hosted by node '{name}', which {verb} {_when(since)} (last heartbeat "
                f"{_when(view.heartbeat_at)}); it answers again once that node is back."
            )
        return view

    async def forward(
        self,
        grant: Grant,
        scope: Scope,
        headers: dict[bytes, bytes],
        body: bytes,
        receive: Receive,
        send: Send,
        cors: list[tuple[bytes, bytes]],
    ) -> None:
        """Send the request to the hosting node and its answer to the client."""
        method: str = scope["method"]
        try:
            view = await self.node_of(grant)
        except UpstreamUnavailable as exc:
            await _refuse(send, exc, cors)
            return
        target = target_of(scope)
        outgoing = [(name, value) for name, value in headers.items() if name not in _DROPPED]
        outgoing += self.signer.sign(RELAY_OP, method, target, encode_grant(grant), body)
        try:
            answer = await self._pool.request(view.internal_url, method, target, outgoing, body)
        except ConnectFailed as exc:
            await _refuse(send, self._not_answering(grant, view, exc), cors)
            return
        try:
            answer_headers = [(name, value) for name, value in answer.headers if name not in _HOP]
            start = {"type": "http.response.start", "status": answer.status, "headers": answer_headers + cors}
            await send(start)
            if any(
                name == b"content-type" and value.startswith(b"text/event-stream") for name, value in answer_headers
            ):
                await until_disconnected(receive, _pump(answer, send))  # a stream ends when its client goes away
            else:
                await _pump(answer, send)
        finally:
            answer.release()

    async def invoke(
        self,
        grant: Grant,
        method: str,
        params: dict[str, Any] | None,
        timeout: float,  # noqa: ASYNC109 -- the hosting node bounds the call; this bounds the wait for its answer
    ) -> tuple[Message, float]:
        """One request through the hosting node's invoke path (workflow steps, evaluations, the playground):
        the answer and how long the server took. Raises ``UpstreamUnavailable``."""
        view = await self.node_of(grant)
        target = f"/mcp/{grant.slug}"
        body = orjson.dumps({"method": method, "params": params, "timeout": timeout})
        headers = [(b"content-type", b"application/json"), (b"accept", b"application/json")]
        headers += self.signer.sign(INVOKE_OP, "POST", target, encode_grant(grant), body)
        try:
            async with asyncio.timeout(timeout + 10):
                answer = await self._pool.request(view.internal_url, "POST", target, headers, body)
                try:
                    raw = await answer.read()
                finally:
                    answer.release()
        except (ConnectFailed, ConnectionError, TimeoutError) as exc:
            raise self._not_answering(grant, view, exc) from None
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError:
            document = {}
        if answer.status != 200 or not isinstance(document, dict) or "answer" not in document:
            error = document.get("error") if isinstance(document, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            raise _unavailable(message or f"Node '{view.name}' answered HTTP {answer.status}.")
        return document["answer"], float(document["duration"])

    def _not_answering(self, grant: Grant, view: NodeView, exc: BaseException) -> UpstreamUnavailable:
        age = (datetime.now(UTC) - view.heartbeat_at).total_seconds()
        reason = str(exc) or type(exc).__name__
        log.warning("node %s does not answer at %s: %s", view.name, view.internal_url, reason)
        return _unavailable(
            f"The server '{grant.slug}' is hosted by node '{view.name}', which does not answer at "
            f"{view.internal_url} ({reason}); its last heartbeat was {age:.0f} s ago."
        )


def target_of(scope: Scope) -> str:
    query: bytes = scope.get("query_string") or b""
    path: str = scope["path"]
    return path + ("?" + query.decode("latin-1") if query else "")


def _unavailable(message: str) -> UpstreamUnavailable:
    return UpstreamUnavailable(message, headers={"Retry-After": "5"})


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "an unknown time"
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def _refuse(send: Send, exc: UpstreamUnavailable, cors: list[tuple[bytes, bytes]]) -> None:
    headers = [(name.lower().encode(), value.encode()) for name, value in exc.headers.items()]
    await respond_json(send, exc.status_code, error_body(GATEWAY_ERROR, exc.message, exc.code), headers + cors)


async def _pump(answer: Answer, send: Send) -> None:
    started = time.monotonic()
    try:
        async for chunk in answer.body():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except (OSError, ConnectionError) as exc:  # the node went away mid-answer: the client sees the stream end
        log.info("a forwarded answer ended after %.1f s: %r", time.monotonic() - started, exc)
    await send({"type": "http.response.body", "body": b""})
