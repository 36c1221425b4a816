"""The session era of Streamable HTTP (protocol 2025-03-26 … 2025-11-25) at the gateway.

``initialize`` opens a session (answered from the manifest of the instance that will serve it; for ``per_session``
isolation that instance is started for it and initialised with the client's own capabilities). Later POSTs carry
``Mcp-Session-Id``; requests are relayed, notifications forwarded (``cancelled`` cancels the relayed request),
responses answer the server→client request they name. GET opens the session's stream of server messages or resumes
any of its streams from ``Last-Event-ID``; DELETE ends the session."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any, Final

import orjson

from mcphost.errors import AppError
from mcphost.gateway.asgi import JSON_HEADERS, Receive, Send, accepts_json, respond, respond_json, until_disconnected
from mcphost.gateway.errors import GATEWAY_ERROR, error_body, invalid_body, respond_unavailable
from mcphost.gateway.relay import relay, write_stream
from mcphost.gateway.sessions import GENERAL_STREAM, ClientSession
from mcphost.gateway.upstreams import instance_key
from mcphost.mcp.event_stream import parse_event_id
from mcphost.mcp.http import HttpConnection
from mcphost.mcp.jsonrpc import INVALID_PARAMS, INVALID_REQUEST, ConnectionClosed, InvalidMessage, Message, classify
from mcphost.mcp.session import LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS
from mcphost.models import Isolation
from mcphost.servers.running import RELAYED_CLIENT_CAPABILITIES

if TYPE_CHECKING:
    from mcphost.gateway.access import Grant
    from mcphost.gateway.sessions import SessionStore
    from mcphost.gateway.shared_sessions import SharedSessions
    from mcphost.gateway.upstreams import Upstream, Upstreams
    from mcphost.platform import Platform
    from mcphost.settings import GatewaySettings

Cors = list[tuple[bytes, bytes]]
SESSION_HEADER: Final = b"mcp-session-id"
KEEPALIVE_SECONDS: Final = 20.0
_VERSIONS: Final = frozenset(version.encode() for version in SUPPORTED_PROTOCOL_VERSIONS)


class SessionEra:
    def __init__(
        self,
        platform: Platform,
        sessions: SessionStore,
        settings: GatewaySettings,
        upstreams: Upstreams,
        shared: SharedSessions,
    ) -> None:
        self.platform = platform
        self.sessions = sessions
        self.settings = settings
        self.upstreams = upstreams
        self.shared = shared
        self._releasing: set[asyncio.Task[None]] = set()  # instances of ended sessions being stopped

    # -- POST ---------------------------------------------------------------------------------------------------

    async def post(
        self, grant: Grant, headers: dict[bytes, bytes], document: Any, size: int, send: Send, cors: Cors
    ) -> None:

        if type(document) is list:
            await self._batch(grant, headers, document, size, send, cors)
            return
        try:
            kind = classify(document)
        except InvalidMessage as exc:
            await respond_json(send, 400, invalid_body(exc, _id_of(document)), cors)
            return
        if kind == "request" and document["method"] == "initialize":
            await self._initialize(grant, document, send, cors)
            return
        session = await self._session(grant, headers, send, cors)
        if session is None:
            return
        if kind == "request":
            await self._request(grant, session, document, size, send, cors, json_ok=accepts_json(headers))
        elif kind == "notification":
            await self._notification(session, document)
            await respond(send, 202, b"", cors)
        else:
            future = session.server_requests.get(document["id"])
            if future is not None and not future.done():
                future.set_result(document)
            await respond(send, 202, b"", cors)

    async def _session(self, grant: Grant, headers: dict[bytes, bytes], send: Send, cors: Cors) -> ClientSession | None:

        session_id = headers.get(SESSION_HEADER)
        if session_id is None:
            body = error_body(GATEWAY_ERROR, "Send the Mcp-Session-Id header (initialize first).", "no_session")
            await respond_json(send, 400, body, cors)
            return None
        session = self.sessions.get(session_id.decode("latin-1"))
        if session is None and self.shared.enabled:  # opened on another replica? (ADR 0015)
            session = await self._adopt(session_id.decode("latin-1"), grant)
        if session is None or session.principal != grant.principal or session.server_id != grant.server_id:
            body = error_body(GATEWAY_ERROR, "Unknown or ended session; initialize a new one.", "unknown_session")
            await respond_json(send, 404, body, cors)
            return None
        version = headers.get(b"mcp-protocol-version")
        if version is not None and version not in _VERSIONS:
            message = f"Unsupported MCP-Protocol-Version {version.decode('latin-1')!r:.40}."
            await respond_json(send, 400, error_body(GATEWAY_ERROR, message, "protocol_version"), cors)
            return None
        session.last_used = time.monotonic()
        return session

    async def _adopt(self, session_id: str, grant: Grant) -> ClientSession | None:
        """Continue a session another replica opened, as recorded (one read, then it is held here too)."""
        row = await self.shared.load(session_id)
        if row is None or row.server_id != grant.server_id or row.principal != grant.principal:
            return None
        found = self.sessions.get(session_id)  # adopted by a concurrent request meanwhile
        if found is not None:
            return found
        return self.sessions.create(
            session_id=session_id,
            server_id=row.server_id,
            principal=row.principal,
            upstream_key=instance_key(grant, session_id),
            protocol_version=row.protocol_version,
            client_capabilities=dict(row.client_capabilities or {}),
            client_info=dict(row.client_info or {}),
            event_buffer=self.settings.event_buffer,
            idle_seconds=row.idle_seconds,
            shared=True,
        )

    async def _initialize(self, grant: Grant, message: Message, send: Send, cors: Cors) -> None:
        raw = message.get("params")
        params: dict[str, Any] = raw if type(raw) is dict else {}
        requested = params.get("protocolVersion")
        version = requested if requested in SUPPORTED_PROTOCOL_VERSIONS else LATEST_PROTOCOL_VERSION
        capabilities = params.get("capabilities") if type(params.get("capabilities")) is dict else {}
        client_info = params.get("clientInfo") if type(params.get("clientInfo")) is dict else None
        if not await self._room_for_session(grant, message["id"], send, cors):
            return
        session = self.sessions.create(
            server_id=grant.server_id,
            principal=grant.principal,
            upstream_key="",
            protocol_version=version,
            client_capabilities=capabilities,
            client_info=client_info or {},
            event_buffer=self.settings.event_buffer,
        )
        session.upstream_key = instance_key(grant, session.id)
        try:
            running = await self._bind(grant, session)
            if self.platform.agent is not None:  # the server's own idle time (read once per server, then cached)
                session.idle_seconds = (await self.platform.agent.instances.limits(grant.server_id)).idle_seconds
        except AppError as exc:
            self.sessions.remove(session)
            await respond_unavailable(send, exc, message["id"], cors)
            return
        if (
            self.shared.enabled
            and grant.isolation is Isolation.SHARED
            and isinstance(running.connection, HttpConnection)
        ):
            session.shared = await self.shared.save(session)  # any replica continues it (ADR 0015)
        manifest = running.session.manifest if running.session is not None else None
        result: dict[str, Any] = {
            "protocolVersion": version,
            "capabilities": manifest.capabilities if manifest else {},
            "serverInfo": manifest.server_info if manifest else {"name": grant.slug, "version": ""},
        }
        if manifest is not None and manifest.instructions:
            result["instructions"] = manifest.instructions
        answer = orjson.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result})
        await respond(send, 200, answer, [*JSON_HEADERS, (SESSION_HEADER, session.id.encode()), *cors])

    async def _room_for_session(self, grant: Grant, request_id: Any, send: Send, cors: Cors) -> bool:
        """Whether a new session fits under the server's cap and the credential's share of it; answers if not."""
        sessions = self.sessions
        held = sessions.held_by(grant.server_id, grant.principal)
        if held >= sessions.max_per_credential:
            message = (
                f"This credential already holds {held} open sessions on this server, the most one credential may; "
                "end some (DELETE with their Mcp-Session-Id) or wait until idle ones expire."
            )
            body = error_body(GATEWAY_ERROR, message, "sessions_per_credential", request_id)
            await respond_json(send, 429, body, [(b"retry-after", b"30"), *cors])
            return False
        if sessions.full(grant.server_id):
            message = "This server has too many open sessions; retry later."
            await respond_json(
                send, 503, error_body(GATEWAY_ERROR, message, "sessions", request_id), [(b"retry-after", b"5"), *cors]
            )
            return False
        return True

    async def _bind(self, grant: Grant, session: ClientSession) -> Upstream:
        """The instance serving the session, started when needed; the session joins its relay."""
        per_session = grant.isolation is Isolation.PER_SESSION
        capabilities = session.client_capabilities if per_session else RELAYED_CLIENT_CAPABILITIES
        client_info = session.client_info if per_session else None
        running = await self.upstreams.running_for(grant, session.upstream_key, capabilities, client_info)
        mux = running.mux
        assert mux is not None
        if session.mux is not mux:
            if session.mux is not None:
                session.mux.sessions.discard(session)
            session.mux = mux
            mux.sessions.add(session)
        return running

    async def _request(
        self,
        grant: Grant,
        session: ClientSession,
        message: Message,
        size: int,
        send: Send,
        cors: Cors,
        *,
        json_ok: bool,
    ) -> None:

        method = message["method"]
        if method == "ping":
            await respond(
                send, 200, orjson.dumps({"jsonrpc": "2.0", "id": message["id"], "result": {}}), JSON_HEADERS + cors
            )
            return
        if method in ("resources/subscribe", "resources/unsubscribe"):
            params = message.get("params")
            uri = params.get("uri") if type(params) is dict else None
            if type(uri) is str:
                (session.subscriptions.add if method == "resources/subscribe" else session.subscriptions.discard)(uri)
        refusal = grant.withheld.refusal(method, message.get("params"))
        if refusal is not None:
            body = error_body(INVALID_PARAMS, *refusal, message["id"])
            await respond_json(send, 200, body, cors)
            return
        try:
            running = await self._bind(grant, session)
        except AppError as exc:
            await respond_unavailable(send, exc, message["id"], cors)
            return
        assert running.mux is not None
        await relay(
            send,
            mux=running.mux,
            session=session,
            message=message,
            grant=grant,
            traces=self.platform.traces,
            timeout=self.settings.request_timeout_seconds,
            json_ok=json_ok,
            request_bytes=size,
            extra_headers=cors,
            transform=grant.withheld.hiding(),
        )

    async def _notification(self, session: ClientSession, message: Message) -> None:
        method = message["method"]
        if method == "notifications/initialized":
            return  # the upstream was initialised when it started
        if method == "notifications/cancelled":
            params = message.get("params")
            request_id = params.get("requestId") if type(params) is dict else None
            exchange = session.inflight.get(request_id) if type(request_id) in (int, str) else None  # type: ignore[arg-type]
            if exchange is not None:
                exchange.cancel()
            return
        if session.mux is not None:
            with contextlib.suppress(ConnectionClosed, TimeoutError):
                await session.mux.notify(message)

    async def _batch(
        self, grant: Grant, headers: dict[bytes, bytes], batch: list[Any], size: int, send: Send, cors: Cors
    ) -> None:
        """A JSON-RPC batch (protocol 2025-03-26): each message handled in turn, the answers returned together."""

        answers: list[Any] = []
        for message in batch:
            collector = _Collector()
            if type(message) is not dict:  # [1], or a batch in the batch: each item gets its own error
                try:
                    classify(message)
                except InvalidMessage as exc:
                    answers.append(invalid_body(exc))
                continue
            if message.get("method") == "initialize":
                answers.append(
                    error_body(INVALID_REQUEST, "initialize cannot be part of a batch.", None, message.get("id"))
                )
                continue
            await self.post(grant, headers, message, size // len(batch), collector, cors)
            answers.extend(collector.messages())
        if answers:
            await respond(send, 200, orjson.dumps(answers), JSON_HEADERS + cors)
        else:
            await respond(send, 202, b"", cors)

    # -- GET and DELETE -----------------------------------------------------------------------------------------

    async def get(self, grant: Grant, headers: dict[bytes, bytes], receive: Receive, send: Send, cors: Cors) -> None:

        if b"text/event-stream" not in headers.get(b"accept", b""):
            body = error_body(GATEWAY_ERROR, "A GET opens an event stream: send Accept: text/event-stream.", "accept")
            await respond_json(send, 406, body, cors)
            return
        session = await self._session(grant, headers, send, cors)
        if session is None:
            return
        stream, after = session.general, session.general.sent
        last_event = headers.get(b"last-event-id")
        if last_event is not None:
            position = parse_event_id(last_event.decode("latin-1"))
            resumed = session.streams.get(position[0]) if position is not None else None
            if position is None or resumed is None:
                body = error_body(GATEWAY_ERROR, "That event can no longer be resumed; open a new stream.", "resume")
                await respond_json(send, 404 if position is not None else 400, body, cors)
                return
            stream, after = resumed, position[1]
        keepalive = KEEPALIVE_SECONDS if stream.id == GENERAL_STREAM else 0
        await until_disconnected(
            receive, write_stream(send, stream, cors, priming=False, after=after, keepalive=keepalive)
        )

    async def delete(self, grant: Grant, headers: dict[bytes, bytes], send: Send, cors: Cors) -> None:
        session = await self._session(grant, headers, send, cors)
        if session is None:
            return
        await self.end(session)
        await respond(send, 204, b"", cors)

    async def end(self, session: ClientSession) -> None:
        """End a session; a per_session instance goes with it, and a shared one ends on every replica."""
        self.sessions.remove(session)
        if session.shared:
            await self.shared.end(session)
        agent = self.platform.agent
        if agent is not None and session.upstream_key.startswith("session-"):
            task = asyncio.get_running_loop().create_task(
                agent.instances.release(session.server_id, session.upstream_key)
            )
            self._releasing.add(task)
            task.add_done_callback(self._releasing.discard)


def _id_of(message: Message) -> Any:
    """The id of a message that failed validation, when it is one a client could match its answer to."""
    request_id = message.get("id")
    return request_id if type(request_id) in (int, str) else None


class _Collector:
    """An ASGI ``send`` that keeps a JSON answer, for batches."""

    def __init__(self) -> None:
        self.body = b""
        self.streamed: list[bytes] = []
        self.sse = False

    async def __call__(self, message: Any) -> None:
        if message["type"] == "http.response.start":
            self.sse = any(
                name == b"content-type" and value == b"text/event-stream" for name, value in message["headers"]
            )
        else:
            self.body += message.get("body", b"")

    def messages(self) -> list[Any]:
        if not self.body:
            return []
        if not self.sse:
            return [orjson.loads(self.body)]
        found = []
        for block in self.body.split(b"\n\n"):
            for line in block.split(b"\n"):
                if line.startswith(b"data: ") and len(line) > 6:
                    message = orjson.loads(line[6:])
                    if "method" not in message:
                        found.append(message)
        return found
