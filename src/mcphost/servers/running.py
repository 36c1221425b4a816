"""A started instance of a server as the node hosts it: the runtime's instance, the platform's MCP connection and
session to it, and the mux through which the gateway relays client sessions over that connection.

Both the node agent (a server's main instance) and its instance pool (``per_user``/``per_session`` instances) start
instances this way; the gateway reads ``Running.mux`` to relay."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from mcphost.mcp.http import HttpConnection
from mcphost.mcp.jsonrpc import ConnectionClosed
from mcphost.mcp.mux import UpstreamMux
from mcphost.mcp.session import McpSession, ProtocolError, ServerManifest
from mcphost.mcp.stdio import StdioConnection
from mcphost.runtimes.base import Instance

__all__ = ["RELAYED_CLIENT_CAPABILITIES", "Running", "connect", "initialize", "relay_through_mux"]

#: What the platform's own MCP client declares to servers it shares between clients: the gateway relays these
#: server→client requests to the client session they belong to (and refuses them for clients that lack them).
RELAYED_CLIENT_CAPABILITIES: dict[str, Any] = {"sampling": {}, "elicitation": {}}


@dataclass
class Running:
    """One instance started on this node (by the agent or its instance pool), and what watches it."""

    server_id: uuid.UUID
    slug: str
    generation: int
    instance: Instance
    connection: StdioConnection | HttpConnection | None = None
    session: McpSession | None = None
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=20))
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    stopping: bool = False
    kill_reason: str | None = None
    started: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    #: Relays the gateway's client sessions over this instance's connection (set once it is initialised).
    mux: UpstreamMux | None = None
    #: The server's revision this instance runs (the main instance's, for what the agent says during a redeploy).
    revision: int = 0
    #: A newer generation that failed to replace this instance: not tried again until the server changes again.
    declined_generation: int | None = None
    #: The user a per_user/per_session instance serves (its own credentials), None for the main instance.
    user_id: uuid.UUID | None = None

    async def drain(self, within: float) -> bool:
        """Wait until no relayed call is in flight (at most ``within`` seconds); whether it drained."""
        deadline = time.monotonic() + within
        while self.mux is not None and self.mux.busy and self.instance.exit_code is None:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True


def connect(instance: Instance, name: str) -> StdioConnection | HttpConnection:
    """The MCP client connection to a started instance."""
    if instance.transport == "streamable-http":
        if instance.url is None:
            raise ProtocolError("the runtime did not say where the server listens")
        return HttpConnection(instance.url, headers=instance.headers)
    if instance.stdio is None:
        raise ProtocolError("the runtime gave no stdio channel for a stdio server")
    return StdioConnection(instance.stdio[0], instance.stdio[1], name=name).start()


async def initialize(
    session: McpSession, capabilities: dict[str, Any], client_info: dict[str, Any] | None = None
) -> ServerManifest:
    """The MCP handshake; an HTTP server is retried until it listens (the caller bounds the wait)."""
    while True:
        try:
            manifest = await session.initialize(client_info=client_info, capabilities=capabilities)
            if isinstance(session.connection, HttpConnection):
                session.connection.listen()
            return manifest
        except ConnectionClosed:
            if not isinstance(session.connection, HttpConnection):
                raise
            await asyncio.sleep(0.1)


def relay_through_mux(running: Running, request_timeout: float) -> UpstreamMux:
    """Let the gateway relay client sessions over the instance's connection."""
    assert running.connection is not None
    running.mux = mux = UpstreamMux(running.connection, name=running.slug, request_timeout=request_timeout)
    running.connection.on_request(mux.on_request)
    running.connection.on_notification(mux.on_notification)
    return mux
