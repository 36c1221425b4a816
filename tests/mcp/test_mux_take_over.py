"""A redeploy hands the client sessions of the old upstream to the new one: the new upstream relays for them from
now on, the resources they subscribed to are subscribed again there, and closed sessions are left behind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mcphost.mcp.event_stream import EventStream
from mcphost.mcp.jsonrpc import Message
from mcphost.mcp.mux import UpstreamMux


@dataclass
class Connection:
    sent: list[tuple[str, dict[str, Any] | None]] = field(default_factory=list)

    async def roundtrip(self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None) -> Message:
        self.sent.append((method, params))
        return {"jsonrpc": "2.0", "id": len(self.sent), "result": {}}

    async def send_raw(self, message: Message) -> None:
        self.sent.append((str(message.get("method")), message.get("params")))


@dataclass(eq=False)
class Session:
    subscriptions: set[str]
    closed: bool = False
    stateful: bool = True
    client_capabilities: dict[str, Any] = field(default_factory=dict)
    inflight: dict[Any, Any] = field(default_factory=dict)
    server_requests: dict[str, Any] = field(default_factory=dict)
    general: EventStream = field(default_factory=lambda: EventStream(1, 100))
    mux: UpstreamMux | None = None

    def open_stream(self) -> EventStream:
        return self.general


async def test_sessions_move_with_their_subscriptions_and_closed_ones_stay_behind() -> None:
    old_connection, new_connection = Connection(), Connection()
    old = UpstreamMux(old_connection, name="old", request_timeout=5)  # type: ignore[arg-type]
    new = UpstreamMux(new_connection, name="new", request_timeout=5)  # type: ignore[arg-type]
    reading = Session({"file:///a"})
    watching = Session({"file:///b", "file:///a"})
    gone = Session({"file:///c"}, closed=True)
    for session in (reading, watching, gone):
        session.mux = old
        old.sessions.add(session)  # type: ignore[arg-type]

    uris = new.take_over(old)
    await new.subscribe(uris)

    assert uris == {"file:///a", "file:///b"}
    assert sorted((method, str(params)) for method, params in new_connection.sent) == [
        ("resources/subscribe", "{'uri': 'file:///a'}"),
        ("resources/subscribe", "{'uri': 'file:///b'}"),
    ]
    assert new.sessions == {reading, watching} and not old.sessions
    assert reading.mux is new and watching.mux is new and gone.mux is old
    assert old_connection.sent == []
