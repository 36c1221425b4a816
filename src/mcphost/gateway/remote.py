"""This replica's connections to HTTP upstreams hosted by other nodes (ADR 0015): one per server, over the upstream
session the hosting node opened (its id and protocol version come with the endpoint), with request ids of a range
of its own, and a mux through which this replica's client sessions are relayed as they are over a local instance.

It opens no GET stream: messages the server sends outside requests go to the hosting node's stream (a server sends
each message on one stream), so list changes and resource updates reach the sessions of the hosting replica. A
connection is dropped when the endpoint changes (a redeploy, a restart); what is in flight on it finishes."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import httpx

from mcphost.gateway.errors import UpstreamUnavailable
from mcphost.mcp.http import HttpConnection
from mcphost.mcp.mux import UpstreamMux
from mcphost.mcp.session import ServerManifest

if TYPE_CHECKING:
    from mcphost.gateway.access import Grant
    from mcphost.gateway.routes import RouteTable
    from mcphost.servers.endpoints import Endpoint

#: Request ids of a replica's connection start at a random multiple of this (the hosting node's start at 1).
_ID_RANGE: Final = 1 << 32


@dataclass(frozen=True)
class Manifested:
    """What the gateway reads of an upstream's MCP session: the server's manifest."""

    manifest: ServerManifest | None


@dataclass(eq=False)
class RemoteUpstream:
    endpoint: Endpoint
    connection: HttpConnection
    mux: UpstreamMux
    session: Manifested


def manifest_of(data: dict[str, Any]) -> ServerManifest | None:
    """The manifest as the hosting node recorded it (``ServerManifest.to_dict``)."""
    info = data.get("serverInfo")
    if type(info) is not dict:
        return None
    capabilities = data.get("capabilities")
    instructions = data.get("instructions")
    return ServerManifest(
        name=str(info.get("name", "")),
        version=str(info.get("version", "")),
        protocol_version=str(data.get("protocolVersion", "")),
        capabilities=capabilities if type(capabilities) is dict else {},
        instructions=instructions if type(instructions) is str else None,
        server_info=info,
    )


class RemoteUpstreams:
    def __init__(self, routes: RouteTable, *, request_timeout: float) -> None:
        self.routes = routes
        self.request_timeout = request_timeout
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(request_timeout, connect=5.0),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=256),
        )
        self._upstreams: dict[uuid.UUID, RemoteUpstream] = {}

    async def get(self, grant: Grant) -> RemoteUpstream:
        found = self._upstreams.get(grant.server_id)
        if found is not None:
            return found
        endpoint = await self.routes.endpoint(grant.server_id)
        if endpoint is None or endpoint.session_id is None:
            raise UpstreamUnavailable(
                f"The server '{grant.slug}' is not running; start it, or wait until its status is running.",
                headers={"Retry-After": "2"},
            )
        found = self._upstreams.get(grant.server_id)  # opened by another request meanwhile
        if found is not None and found.endpoint == endpoint:
            return found
        connection = HttpConnection(
            endpoint.url,
            client=self._client,
            headers=endpoint.headers,
            first_id=_ID_RANGE * (1 + secrets.randbelow(1 << 20)),
        )
        connection.session_id, connection.protocol_version = endpoint.session_id, endpoint.protocol_version
        mux = UpstreamMux(connection, name=grant.slug, request_timeout=self.request_timeout)
        connection.on_request(mux.on_request)
        connection.on_notification(mux.on_notification)
        upstream = RemoteUpstream(endpoint, connection, mux, Manifested(manifest_of(endpoint.manifest)))
        self._upstreams[grant.server_id] = upstream
        return upstream

    def forget(self, server_id: uuid.UUID) -> None:
        """Open a new connection for the next request (the endpoint changed); calls in flight finish on this one.
        The upstream session is the hosting node's: it is never ended from here."""
        self._upstreams.pop(server_id, None)

    async def close(self) -> None:
        self._upstreams.clear()
        await self._client.aclose()
