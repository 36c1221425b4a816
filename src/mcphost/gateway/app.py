"""The MCP endpoint ``/mcp/{slug}``: a raw ASGI app in front of every hosted server (Streamable HTTP).

Per request, in order: the Host and Origin checks (DNS rebinding, cross-site use), the bearer credential (an access
key of this server, a personal access token with the ``invoke`` scope, or an OAuth access token bound to this
server; 401 with the protected-resource metadata address and the scope otherwise), the credential's rate limit, the
body cap, then the protocol: the session era (initialize, ``Mcp-Session-Id``, POST/GET/DELETE, resumable streams) or
the stateless era (2026-07-28). Nothing on this path waits on the database once a credential is known. The client's
Authorization header is never passed on to an upstream server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from typing import TYPE_CHECKING, Any, Final

from mcphost.events import Event
from mcphost.gateway import origins
from mcphost.gateway.access import AccessResolver, Denied, Grant, RateLimiter
from mcphost.gateway.asgi import (
    BodyTooLarge,
    Disconnected,
    Receive,
    Scope,
    Send,
    acceptable,
    header,
    headers_of,
    read_body,
    respond_json,
)
from mcphost.gateway.calls import call_once
from mcphost.gateway.errors import GATEWAY_ERROR, error_body, invalid_body
from mcphost.gateway.forward import Forwarder
from mcphost.gateway.internal import InternalCalls
from mcphost.gateway.remote import RemoteUpstreams
from mcphost.gateway.routes import FORGETTING, RouteTable
from mcphost.gateway.session_era import SessionEra
from mcphost.gateway.sessions import SessionStore
from mcphost.gateway.shared_sessions import ENDED_EVENT, SharedSessions, digest
from mcphost.gateway.stateless_era import StatelessEra
from mcphost.gateway.upstreams import Upstreams
from mcphost.mcp.jsonrpc import INTERNAL_ERROR, InvalidMessage, Message, parse
from mcphost.mcp.session import SUPPORTED_PROTOCOL_VERSIONS
from mcphost.nodes.directory import NodeDirectory
from mcphost.nodes.identity import machine_id, shared_sessions_enabled
from mcphost.observability.context import request_id
from mcphost.security.internal_calls import SIGNATURE_HEADER, InternalCallSigner

if TYPE_CHECKING:
    from mcphost.platform import Platform

log = logging.getLogger(__name__)

PREFIX: Final = "/mcp/"
INVOKE_SCOPE: Final = "invoke"
#: How often idle sessions and instances are looked for (a server's idle time may be as short as 10 s).
REAP_INTERVAL_SECONDS: Final = 5.0
SESSION_ERA_VERSIONS: Final = frozenset(version.encode() for version in SUPPORTED_PROTOCOL_VERSIONS)
#: A client's X-Request-ID is used for a failure's record when it is this sane (as the API's middleware does).
_REQUEST_ID: Final = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")


class Gateway:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        settings = platform.settings.gateway
        self.settings = settings
        self.access = AccessResolver(platform)
        self.limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        self.sessions = SessionStore(
            max_per_server=settings.max_sessions_per_server,
            max_per_credential=settings.sessions_per_credential,
            idle_seconds=settings.session_idle_seconds,
        )
        self.origins = origins.OriginPolicy(platform.settings.effective_public_url, settings)
        # Replicas (ADR 0015): where the nodes are, how to reach servers hosted elsewhere, sessions any replica holds.
        node_settings = platform.settings.nodes
        self.node: str | None = None  # the node this process hosts, once started
        self.nodes = NodeDirectory(platform.db, node_settings)
        self.routes = RouteTable(platform.db, platform.keys, machine_id())
        self.remote = RemoteUpstreams(self.routes, request_timeout=settings.request_timeout_seconds)
        self.upstreams = Upstreams(platform, self.remote)
        self.shared = SharedSessions(platform.db, enabled=shared_sessions_enabled(platform.settings))
        signer = InternalCallSigner(
            platform.keys.internal_calls,
            platform.settings.runtime.node_name,
            max_age_seconds=node_settings.internal_call_max_age_seconds,
        )
        self.forwarder = Forwarder(self.nodes, signer, node_settings)
        self.internal = InternalCalls(
            signer, self.upstreams, platform.traces, max_bytes=settings.max_message_bytes, serve=self._serve
        )
        self.session_era = SessionEra(platform, self.sessions, settings, self.upstreams, self.shared)
        self.stateless_era = StatelessEra(platform, settings, self.upstreams)
        self._tasks: list[asyncio.Task[None]] = []

    def resource_metadata_url(self, slug: str) -> str:
        return f"{self.platform.settings.effective_public_url}/.well-known/oauth-protected-resource/mcp/{slug}"

    # -- lifecycle ----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self.platform.bus.fanout.add_listener(self._on_event)
        if self.platform.agent is not None:
            self.node = self.platform.agent.node
            self.platform.agent.instances.on_ended(self._on_instance_ended)
        self.nodes.start()
        self._tasks = [asyncio.create_task(self._reap(), name="gateway-reaper")]

    async def stop(self) -> None:
        self.platform.bus.fanout.remove_listener(self._on_event)
        self.stateless_era.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for session in self.sessions.all():
            self.sessions.remove(session)
        await self.nodes.stop()
        await self.forwarder.close()
        await self.remote.close()

    def _on_event(self, event: Event) -> None:
        kind = event.kind
        self.access.invalidate(kind)
        if kind.startswith("node."):
            self.nodes.on_event(kind)
        elif kind == ENDED_EVENT:
            self._end_shared(str(event.data.get("session", "")))
        if kind in FORGETTING:
            with contextlib.suppress(KeyError, ValueError):
                server_id = uuid.UUID(event.data["id"])
                self.routes.forget(server_id)
                self.remote.forget(server_id)
        if kind in ("server.updated", "server.deleted"):
            with contextlib.suppress(KeyError, ValueError):
                server_id = uuid.UUID(event.data["id"])
                self.platform.traces.forget_secrets(server_id)
                if self.platform.agent is not None:
                    self.platform.agent.instances.forget_limits(server_id)
                if kind == "server.deleted":
                    self.end_sessions_of(server_id)

    def _end_shared(self, hashed: str) -> None:
        """Another replica ended a shared session (its client sent DELETE): this copy ends too."""
        for session in self.sessions.all():
            if session.shared and digest(session.id) == hashed:
                self.sessions.remove(session)

    def end_sessions_of(self, server_id: uuid.UUID) -> None:
        for session in self.sessions.of_server(server_id):
            self.sessions.remove(session)

    def _on_instance_ended(self, server_id: uuid.UUID, key: str) -> None:
        """A per_session instance was ended by the pool (evicted at its server's cap, or idle): its session ends with
        it (the client gets 404 and initialises a new one). Sessions of a per_user instance go on: their next
        request starts it again."""
        for session in self.sessions.of_server(server_id):
            if session.upstream_key == key and key.startswith("session-"):
                self.sessions.remove(session)

    async def _reap(self) -> None:
        interval = min(REAP_INTERVAL_SECONDS, self.settings.session_idle_seconds / 2)
        while True:
            await asyncio.sleep(interval)
            for session in self.sessions.idle(time.monotonic()):
                if session.shared:  # other replicas may still serve it: only this copy goes (the row expires)
                    self.sessions.remove(session)
                else:
                    await self.session_era.end(session)
            if self.platform.agent is not None:
                await self.platform.agent.instances.reap_idle(self.settings.session_idle_seconds)
            await self.shared.renew(self.sessions.all())

    # -- requests -----------------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._handle(scope, receive, send)
        except Exception:  # a bug: logged under a request id the client is told, never a bare 500
            await self._failed(scope, send)

    async def _failed(self, scope: Scope, send: Send) -> None:
        incoming = header(scope, b"x-request-id")
        rid = incoming.decode("latin-1") if incoming and _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request_id.set(rid)
        log.exception("the MCP endpoint failed on %s %s (request %s)", scope["method"], scope["path"], rid)
        body = error_body(INTERNAL_ERROR, f"Something went wrong on our side (request {rid}).", "internal_error")
        body["error"]["data"]["request_id"] = rid
        with contextlib.suppress(RuntimeError, OSError):  # the answer may have started already: nothing to add
            await respond_json(send, 500, body, [(b"x-request-id", rid.encode())])

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        slug = scope["path"][len(PREFIX) :].rstrip("/")
        if not slug or "/" in slug:
            await respond_json(send, 404, error_body(GATEWAY_ERROR, "Use /mcp/{server-slug}.", "not_found"))
            return
        headers = headers_of(scope)
        if SIGNATURE_HEADER in headers:  # forwarded by another replica for a server hosted here (ADR 0015)
            await self.internal.handle(scope, slug, headers, receive, send)
            return
        cors = self.origins.check(headers)
        if isinstance(cors, origins.Refusal):
            await respond_json(send, cors.status, error_body(GATEWAY_ERROR, cors.message, cors.reason))
            return
        method = scope["method"]
        if method == "OPTIONS":
            await self.origins.preflight(send, cors)
            return
        grant = await self._authorise(slug, headers, send, cors)
        if grant is None:
            return
        wait = self.limiter.retry_after(grant.principal)
        if wait:
            body = error_body(GATEWAY_ERROR, f"Too many requests; retry in {wait} s.", "rate_limited")
            await respond_json(send, 429, body, [(b"retry-after", str(wait).encode()), *cors])
            return
        if (
            grant.node is not None
            and grant.node != self.node
            and await self._forwarded(grant, scope, headers, receive, send, cors)
        ):
            return
        if method == "POST":
            await self._post(grant, headers, receive, send, cors)
        elif method == "GET":
            await self.session_era.get(grant, headers, receive, send, cors)
        elif method == "DELETE":
            await self.session_era.delete(grant, headers, send, cors)
        else:
            await self._not_allowed(method, send, cors)

    async def _not_allowed(self, method: str, send: Send, cors: list[tuple[bytes, bytes]]) -> None:
        body = error_body(GATEWAY_ERROR, f"{method} is not supported; use POST, GET or DELETE.", "method")
        await respond_json(send, 405, body, [(b"allow", b"GET, POST, DELETE, OPTIONS"), *cors])

    # -- servers hosted by other nodes (ADR 0015) -------------------------------------------------------------------

    async def _forwarded(
        self,
        grant: Grant,
        scope: Scope,
        headers: dict[bytes, bytes],
        receive: Receive,
        send: Send,
        cors: list[tuple[bytes, bytes]],
    ) -> bool:
        """Forward a request for a server hosted by another node, unless this replica relays to its HTTP upstream
        itself (then False: it is served here)."""
        if self.routes.direct(grant, await self.routes.endpoint(grant.server_id)):
            return False
        body: bytes | None = b""
        if scope["method"] == "POST":
            body = await self._message(headers, receive, send, cors)
        if body is not None:
            await self.forwarder.forward(grant, scope, headers, body, receive, send, cors)
        return True

    async def _serve(
        self, method: str, grant: Grant, headers: dict[bytes, bytes], body: bytes, receive: Receive, send: Send
    ) -> None:
        """Serve a request another replica forwarded (its credential checked there, its body read)."""
        if method == "POST":
            if acceptable(headers.get(b"accept")) == (False, False):
                message = "Answers are JSON or an event stream: send Accept: application/json, text/event-stream."
                await respond_json(send, 406, error_body(GATEWAY_ERROR, message, "accept"))
                return
            await self._post_body(grant, headers, body, receive, send, [])
        elif method == "GET":
            await self.session_era.get(grant, headers, receive, send, [])
        elif method == "DELETE":
            await self.session_era.delete(grant, headers, send, [])
        else:
            await self._not_allowed(method, send, [])

    async def call(
        self,
        grant: Grant,
        method: str,
        params: dict[str, Any] | None,
        timeout: float,  # noqa: ASYNC109 -- relayed: on expiry the server is told to cancel
    ) -> tuple[Message, float]:
        """One request of the platform's own (the playground, a workflow step, an evaluation): here, straight to the
        server's HTTP upstream, or through the node hosting it. Raises ``UpstreamUnavailable``."""
        here = grant.node is None or grant.node == self.node
        if here or self.routes.direct(grant, await self.routes.endpoint(grant.server_id)):
            return await call_once(self.upstreams, self.platform.traces, grant, method, params, timeout)
        return await self.forwarder.invoke(grant, method, params, timeout)

    async def _authorise(
        self, slug: str, headers: dict[bytes, bytes], send: Send, cors: list[tuple[bytes, bytes]]
    ) -> Grant | None:
        authorization = headers.get(b"authorization")
        scheme, _, credential = (authorization or b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            denied = Denied(401, "missing_token", "Send an access key or token as 'Authorization: Bearer <key>'.")
        else:
            try:
                return await self.access.grant(slug, credential.strip())
            except Denied as exc:
                denied = exc
        extra = list(cors)
        # RFC 6750 §3 and RFC 9728 §5.1: where the metadata is, and the scope a token for this endpoint needs.
        where = f'resource_metadata="{self.resource_metadata_url(slug)}", scope="{INVOKE_SCOPE}"'
        if denied.status == 401:
            challenge = f"Bearer {where}"
            if denied.code != "missing_token":
                description = denied.message.replace("\\", "").replace('"', "'")
                challenge += f', error="invalid_token", error_description="{description}"'
            extra.append((b"www-authenticate", challenge.encode()))
        elif denied.status == 403:
            extra.append((b"www-authenticate", f'Bearer error="insufficient_scope", {where}'.encode()))
        elif denied.status == 503:
            extra.append((b"retry-after", b"2"))
        await respond_json(send, denied.status, error_body(GATEWAY_ERROR, denied.message, denied.code), extra)
        return None

    async def _post(
        self, grant: Grant, headers: dict[bytes, bytes], receive: Receive, send: Send, cors: list[tuple[bytes, bytes]]
    ) -> None:
        if acceptable(headers.get(b"accept")) == (False, False):
            message = "Answers are JSON or an event stream: send Accept: application/json, text/event-stream."
            await respond_json(send, 406, error_body(GATEWAY_ERROR, message, "accept"), cors)
            return
        body = await self._message(headers, receive, send, cors)
        if body is not None:
            await self._post_body(grant, headers, body, receive, send, cors)

    async def _message(
        self, headers: dict[bytes, bytes], receive: Receive, send: Send, cors: list[tuple[bytes, bytes]]
    ) -> bytes | None:
        """The POSTed body, or None once answered 413 (too large) or the client went away."""
        limit = self.settings.max_message_bytes
        try:
            return await read_body(receive, headers.get(b"content-length"), limit)
        except BodyTooLarge:
            message = f"The message is larger than {limit} bytes."
            await respond_json(send, 413, error_body(GATEWAY_ERROR, message, "too_large"), cors)
        except Disconnected:
            pass
        return None

    async def _post_body(
        self,
        grant: Grant,
        headers: dict[bytes, bytes],
        body: bytes,
        receive: Receive,
        send: Send,
        cors: list[tuple[bytes, bytes]],
    ) -> None:
        content_type = headers.get(b"content-type", b"")
        if not content_type.startswith(b"application/json"):
            body_error = error_body(GATEWAY_ERROR, "Send JSON-RPC with Content-Type: application/json.", "content_type")
            await respond_json(send, 415, body_error, cors)
            return
        try:
            document = parse(body)
        except InvalidMessage as exc:
            await respond_json(send, 400, invalid_body(exc), cors)
            return
        version = headers.get(b"mcp-protocol-version")
        if version is not None and version not in SESSION_ERA_VERSIONS and b"mcp-session-id" not in headers:
            # 2026-07-28, or a version this gateway does not know, which the stateless era answers with the list
            await self.stateless_era.post(grant, headers, document, len(body), receive, send, cors)
        else:
            await self.session_era.post(grant, headers, document, len(body), send, cors)
