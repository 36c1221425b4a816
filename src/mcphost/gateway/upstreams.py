"""Which instance a client's requests go to, by the server's isolation: the node agent's main instance for
``shared``; an extra instance per principal (``per_user``) or per client session (``per_session``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mcphost.errors import AppError
from mcphost.models import Isolation

if TYPE_CHECKING:
    from mcphost.gateway.access import Grant
    from mcphost.platform import Platform
    from mcphost.servers.running import Running

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class UpstreamUnavailable(AppError):
    status_code = 503
    code = "server_unavailable"


def instance_key(grant: Grant, session_id: str | None) -> str:
    """The isolation key of a client: ``shared``, ``user-…`` or ``session-…``."""
    if grant.isolation is Isolation.PER_SESSION and session_id is not None:
        return "session-" + _UNSAFE.sub("_", session_id[:16])
    if grant.isolation is not Isolation.SHARED:
        return "user-" + _UNSAFE.sub("_", grant.principal.replace(":", "-"))
    return "shared"


async def running_for(
    platform: Platform, grant: Grant, key: str, capabilities: dict[str, Any], client_info: dict[str, Any] | None
) -> Running:
    """The instance serving ``key`` for this server, started on demand for per-user and per-session isolation."""
    agent = platform.agent
    if agent is None:
        raise UpstreamUnavailable("This MCP Host process does not run servers; connect to one that hosts them.")
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
