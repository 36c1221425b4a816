"""Where the node hosting a server serves it over HTTP (ADR 0015), recorded so that any replica relays to it
directly: the instance's URL and request headers, the upstream session the node opened and its protocol version, and
the server's manifest. Every replica uses that one upstream session (their request ids never meet: each starts its
own range), so a server that holds one session per client (a pod's stdio bridge) is shared as the node shares it.

``reach`` says who can open the URL: ``host`` (loopback and container addresses: replicas on the same machine only;
others forward to the node) or ``cluster`` (an instance that sets ``reach = "cluster"``, such as a pod behind a
service). Recording or clearing an endpoint publishes ``server.endpoint``, on which replicas drop what they cached."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import sqlalchemy as sa

from mcphost.db.base import utcnow
from mcphost.db.session import Database, queue_after_commit
from mcphost.events import Event
from mcphost.mcp.http import HttpConnection
from mcphost.models import ServerEndpoint
from mcphost.security.keys import KeyRing
from mcphost.servers.running import Running

__all__ = ["Endpoint", "clear", "load", "record"]

Reach = Literal["host", "cluster"]


@dataclass(frozen=True)
class Endpoint:
    server_id: uuid.UUID
    node: str
    generation: int
    url: str
    headers: dict[str, str]
    session_id: str | None
    protocol_version: str | None
    manifest: dict[str, Any]
    machine: str
    reach: Reach = "host"

    def reachable_from(self, machine: str) -> bool:
        return self.reach == "cluster" or self.machine == machine


def _context(server_id: uuid.UUID) -> str:
    return f"server-endpoint:{server_id}"


async def record(db: Database, keys: KeyRing, running: Running, *, node: str, machine: str) -> None:
    """Record the HTTP upstream of ``running`` (a server's main instance that completed its handshake); nothing
    for a stdio instance."""
    connection = running.connection
    if not isinstance(connection, HttpConnection) or running.session is None or running.session.manifest is None:
        return
    reach: Reach = running.instance.reach
    headers = dict(getattr(running.instance, "headers", None) or {})  # e.g. the bearer token of a pod's bridge
    secret = orjson.dumps({"headers": headers, "session_id": connection.session_id})
    values = {
        "node": node,
        "generation": running.generation,
        "url": connection.url,
        "sealed": keys.secrets.encrypt(secret.decode(), _context(running.server_id)),
        "protocol_version": connection.protocol_version,
        "manifest": running.session.manifest.to_dict(),
        "machine": machine,
        "reach": reach,
        "updated_at": utcnow(),
    }
    async with db.session_scope() as session:
        row = await session.get(ServerEndpoint, running.server_id, with_for_update=True)
        if row is None:
            session.add(ServerEndpoint(server_id=running.server_id, **values))
        else:
            for column, value in values.items():
                setattr(row, column, value)
        queue_after_commit(session, Event("server.endpoint", {"id": str(running.server_id)}))


async def clear(db: Database, server_id: uuid.UUID, generation: int | None = None) -> None:
    """Forget the endpoint (of that generation only, when given: a newer one may serve already)."""
    async with db.session_scope() as session:
        statement = sa.delete(ServerEndpoint).where(ServerEndpoint.server_id == server_id)
        if generation is not None:
            statement = statement.where(ServerEndpoint.generation == generation)
        if (await session.execute(statement)).rowcount:  # type: ignore[attr-defined]
            queue_after_commit(session, Event("server.endpoint", {"id": str(server_id)}))


async def load(db: Database, keys: KeyRing, server_id: uuid.UUID) -> Endpoint | None:
    async with db.session_scope() as session:
        row = await session.get(ServerEndpoint, server_id)
        if row is None:
            return None
        secret = orjson.loads(keys.secrets.decrypt(row.sealed, _context(server_id)))
        return Endpoint(
            server_id=server_id,
            node=row.node,
            generation=row.generation,
            url=row.url,
            headers=dict(secret.get("headers") or {}),
            session_id=secret.get("session_id"),
            protocol_version=row.protocol_version,
            manifest=dict(row.manifest or {}),
            machine=row.machine,
            reach="cluster" if row.reach == "cluster" else "host",
        )
