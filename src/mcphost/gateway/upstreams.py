"""Which upstream a client's requests go to. For a server hosted by this node, by its isolation: the node agent's
main instance for ``shared``, an extra instance per principal (``per_user``) or per client session (``per_session``).
For a ``shared`` server hosted by another node that recorded an HTTP endpoint this replica can reach, this replica's
own connection to that upstream (``remote.py``, ADR 0015); every other request for a server hosted elsewhere is
forwarded to its node before it gets here (``forward.py``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Protocol

from mcphost.gateway.errors import UpstreamUnavailable
from mcphost.models import Isolation

if TYPE_CHECKING:
    from mcphost.gateway.access import Grant
    from mcphost.gateway.remote import RemoteUpstreams
    from mcphost.mcp.http import HttpConnection
    from mcphost.mcp.mux import UpstreamMux
    from mcphost.mcp.session import ServerManifest
    from mcphost.mcp.stdio import StdioConnection
    from mcphost.platform import Platform

__all__ = ["Upstream", "UpstreamUnavailable", "Upstreams", "instance_key"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class Manifests(Protocol):
    @property
    def manifest(self) -> ServerManifest | None: ...


class Upstream(Protocol):
    """What the gateway relays through: a local instance (``servers.running.Running``) or a remote upstream."""

    @property
    def mux(self) -> UpstreamMux | None: ...

    @property
    def session(self) -> Manifests | None: ...

    @property
    def connection(self) -> StdioConnection | HttpConnection | None: ...


def instance_key(grant: Grant, session_id: str | None) -> str:
    """The isolation key of a client: ``shared``, ``user-…`` or ``session-…``."""
    if grant.isolation is Isolation.PER_SESSION and session_id is not None:
        return "session-" + _UNSAFE.sub("_", session_id[:16])
    if grant.isolation is not Isolation.SHARED:
        return "user-" + _UNSAFE.sub("_", grant.principal.replace(":", "-"))
    return "shared"


class Upstreams:
    def __init__(self, platform: Platform, remote: RemoteUpstreams) -> None:
        self.platform = platform
        self.remote = remote

    def hosted_here(self, grant: Grant) -> bool:
        """Whether this process hosts the server (servers created before nodes were recorded count as here)."""
        agent = self.platform.agent
        return agent is not None and (grant.node is None or grant.node == agent.node)

    async def running_for(
        self, grant: Grant, key: str, capabilities: dict[str, Any], client_info: dict[str, Any] | None
    ) -> Upstream:
        """The upstream serving ``key`` for this server, started on demand for per-user and per-session isolation."""
        agent = self.platform.agent
        if agent is not None and (grant.node is None or grant.node == agent.node):
            if key == "shared":
                running = agent.running.get(grant.server_id)
                if running is None or running.mux is None:
                    raise UpstreamUnavailable(
                        f"The server '{grant.slug}' is not running; start it, or wait until its status is running.",
                        headers={"Retry-After": "2"},
                    )
                return running
            found = agent.instances.get(grant.server_id, key)
            if found is not None and found.mux is not None:
                return found
            return await agent.instances.acquire(
                grant.server_id, key, capabilities=capabilities, client_info=client_info, user_id=grant.user_id
            )
        if grant.node is None:
            raise UpstreamUnavailable("This MCP Host process does not run servers; connect to one that hosts them.")
        if key != "shared":
            raise UpstreamUnavailable(
                f"The server '{grant.slug}' is hosted by node '{grant.node}', whose instances serve its clients."
            )
        return await self.remote.get(grant)
