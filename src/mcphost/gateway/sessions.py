"""Client sessions of the gateway (protocol 2025-03-26 … 2025-11-25) and the store of open ones.

A session is created by ``initialize`` and named by an unguessable ``Mcp-Session-Id``; it is bound to the credential
that created it. Each SSE stream it receives (one per POST answered with a stream, and the standalone GET stream) is
an ``EventStream`` (``mcp/event_stream.py``) that keeps its recent events, so a client that lost the connection
resumes with ``Last-Event-ID``. The sessions implement what the upstream mux (``mcp/mux.py``) relays to."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcphost.mcp.event_stream import EventStream
from mcphost.mcp.jsonrpc import Message, RequestId

if TYPE_CHECKING:
    from mcphost.mcp.mux import Exchange, UpstreamMux

#: Streams of a session remembered for resumption; older finished ones are forgotten first.
STREAMS_KEPT = 32
GENERAL_STREAM = 0


@dataclass(eq=False)
class ClientSession:
    """One client's MCP session through the gateway."""

    id: str
    server_id: uuid.UUID
    principal: str
    upstream_key: str
    protocol_version: str
    client_capabilities: dict[str, Any]
    client_info: dict[str, Any]
    event_buffer: int
    #: Ended when unused this long (the server's idle time, or the gateway's default).
    idle_seconds: float = 1800.0
    last_used: float = field(default_factory=time.monotonic)
    streams: dict[int, EventStream] = field(default_factory=dict)
    inflight: dict[RequestId, Exchange] = field(default_factory=dict)
    server_requests: dict[str, asyncio.Future[Message]] = field(default_factory=dict)
    subscriptions: set[str] = field(default_factory=set)
    mux: UpstreamMux | None = None
    closed: bool = False
    #: Kept in the database, so any replica continues it (``shared_sessions.py``).
    shared: bool = False
    _stream_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def stateful(self) -> bool:
        return True

    @property
    def general(self) -> EventStream:
        """The stream for messages that belong to no request (the GET stream), created on first use."""
        stream = self.streams.get(GENERAL_STREAM)
        if stream is None:
            stream = self.streams[GENERAL_STREAM] = EventStream(GENERAL_STREAM, self.event_buffer)
        return stream

    def open_stream(self) -> EventStream:
        stream = EventStream(next(self._stream_ids), self.event_buffer)
        self.streams[stream.id] = stream
        if len(self.streams) > STREAMS_KEPT:
            for old in [s for s in self.streams.values() if s.done and s.id != GENERAL_STREAM][: -STREAMS_KEPT // 2]:
                del self.streams[old.id]
        return stream

    def close(self) -> None:
        """End the session: its streams end, waiting server→client requests fail, in-flight requests are cancelled."""
        self.closed = True
        for stream in self.streams.values():
            stream.finish()
        for future in self.server_requests.values():
            if not future.done():
                future.cancel()
        for exchange in list(self.inflight.values()):
            exchange.cancel()
        if self.mux is not None:
            self.mux.sessions.discard(self)


@dataclass(eq=False)
class StatelessSession:
    """The context of one request of the stateless protocol era (2026-07-28): no id, no streams to resume."""

    server_id: uuid.UUID
    principal: str
    upstream_key: str
    protocol_version: str
    client_capabilities: dict[str, Any]
    client_info: dict[str, Any]
    inflight: dict[RequestId, Exchange] = field(default_factory=dict)
    subscriptions: set[str] = field(default_factory=set)
    closed: bool = False
    event_buffer: int = 64
    _stream_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def stateful(self) -> bool:
        return False

    def open_stream(self) -> EventStream:
        return EventStream(next(self._stream_ids), self.event_buffer)


class SessionStore:
    """The open sessions of this gateway, capped per server and per credential on a server, ended when idle."""

    def __init__(self, *, max_per_server: int, max_per_credential: int, idle_seconds: float) -> None:
        self.max_per_server = max_per_server
        self.max_per_credential = max_per_credential
        self.idle_seconds = idle_seconds
        self._sessions: dict[str, ClientSession] = {}
        self._per_server: dict[uuid.UUID, int] = {}
        self._per_credential: dict[tuple[uuid.UUID, str], int] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, session_id: str) -> ClientSession | None:
        return self._sessions.get(session_id)

    def full(self, server_id: uuid.UUID) -> bool:
        return self._per_server.get(server_id, 0) >= self.max_per_server

    def held_by(self, server_id: uuid.UUID, principal: str) -> int:
        """The sessions a credential (``key:…`` or ``user:…``) holds on a server."""
        return self._per_credential.get((server_id, principal), 0)

    def create(self, *, session_id: str | None = None, **fields: Any) -> ClientSession:
        """A new session (``session_id``: one another replica opened, continued here)."""
        fields.setdefault("idle_seconds", self.idle_seconds)
        session = ClientSession(id=session_id or secrets.token_urlsafe(24), **fields)
        self._sessions[session.id] = session
        self._per_server[session.server_id] = self._per_server.get(session.server_id, 0) + 1
        holder = (session.server_id, session.principal)
        self._per_credential[holder] = self._per_credential.get(holder, 0) + 1
        return session

    def remove(self, session: ClientSession) -> None:
        if self._sessions.pop(session.id, None) is not None:
            _decrement(self._per_server, session.server_id)
            _decrement(self._per_credential, (session.server_id, session.principal))
        session.close()

    def idle(self, now: float) -> list[ClientSession]:
        return [s for s in self._sessions.values() if not s.inflight and now - s.last_used > s.idle_seconds]

    def of_server(self, server_id: uuid.UUID) -> list[ClientSession]:
        return [s for s in self._sessions.values() if s.server_id == server_id]

    def all(self) -> list[ClientSession]:
        return list(self._sessions.values())


def _decrement(counts: dict[Any, int], key: Any) -> None:
    count = counts.get(key, 1) - 1
    if count:
        counts[key] = count
    else:
        counts.pop(key, None)
