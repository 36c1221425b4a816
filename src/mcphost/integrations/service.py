"""Rules of attached services: who may see them (whoever sees the server: names only), who may attach, re-key and
detach them (the server's owner, admins of its organisation, administrators), one of each kind per server, no clash
with the server's own variables, and that detaching drops the data only when the caller confirms with the server's
slug. Each change restarts a running server with the new environment (a new generation, reconciled like a changed
setting)."""

from __future__ import annotations

import uuid
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.db.base import utcnow
from mcphost.db.session import queue_after_commit
from mcphost.errors import Conflict, NotFound
from mcphost.integrations.registry import provisioners
from mcphost.integrations.store import open_env, rows_of, seal_env
from mcphost.models import AttachedService, DesiredState, Server
from mcphost.security.keys import KeyRing
from mcphost.servers import lifecycle_jobs
from mcphost.servers import service as servers
from mcphost.servers.permissions import require_owner, server_event
from mcphost.settings import Settings


class ServiceParts(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def keys(self) -> KeyRing: ...


async def list_services(
    session: AsyncSession, principal: Principal, server_id: uuid.UUID
) -> tuple[Server, list[AttachedService]]:
    server = await servers.get_visible(session, principal, server_id)
    return server, await rows_of(session, server.id)


async def _owned(session: AsyncSession, principal: Principal, server_id: uuid.UUID, doing: str) -> Server:
    server = await servers.get_visible(session, principal, server_id, for_update=True)
    await require_owner(session, principal, server, doing)
    return server


def find(rows: list[AttachedService], server: Server, kind: str) -> AttachedService:
    for row in rows:
        if row.kind == kind:
            return row
    raise NotFound(f"{server.name} has no {kind} service attached.", code="service_not_attached")


def _name(server: Server) -> str:
    return f"mcphost_srv_{server.id.hex}"


async def _restart(session: AsyncSession, server: Server, why: str) -> None:
    server.generation += 1
    server.consecutive_crashes = 0
    server.updated_at = utcnow()
    await session.flush()
    if server.desired_state is DesiredState.RUNNING:
        await lifecycle_jobs.enqueue_reconcile(session, server)
    queue_after_commit(session, server_event("server.updated", server, services=why))


async def attach(
    session: AsyncSession, parts: ServiceParts, principal: Principal, server_id: uuid.UUID, kind: str
) -> AttachedService:
    server = await _owned(session, principal, server_id, "attach services to it")
    provisioner = provisioners(parts.settings.integrations)[kind]
    missing = provisioner.configured()
    if missing is not None:
        raise Conflict(
            f"{kind} is not configured on this platform; an administrator sets {missing}.",
            code="service_not_configured",
        )
    rows = await rows_of(session, server.id)
    if any(row.kind == kind for row in rows):
        raise Conflict(f"{server.name} already has {kind} attached.", code="service_attached")
    taken = set(server.env or {}) | set(server.secret_env or {})
    for row in rows:
        taken |= set(row.env_names)
    clash = sorted(taken & set(provisioner.env_names))
    if clash:
        raise Conflict(
            f"{server.name} already has {', '.join(clash)}, which {kind} would set; remove the variable first.",
            code="variable_clash",
        )
    made = await provisioner.provision(_name(server), server.slug)
    row = AttachedService(
        server_id=server.id,
        kind=kind,
        resource=made.resource,
        username=made.username,
        env_names=sorted(made.env),
        env_sealed=seal_env(parts.keys, server.id, kind, made.env),
        created_by=principal.user_id,
    )
    session.add(row)
    await _restart(session, server, f"attached {kind}")
    return row


async def rotate(
    session: AsyncSession, parts: ServiceParts, principal: Principal, server_id: uuid.UUID, kind: str
) -> AttachedService:
    server = await _owned(session, principal, server_id, "change its services")
    row = find(await rows_of(session, server.id), server, kind)
    provisioner = provisioners(parts.settings.integrations)[kind]
    env = await provisioner.rotate(row.resource, row.username, open_env(parts.keys, row))
    row.env_sealed, row.env_names, row.updated_at = seal_env(parts.keys, server.id, kind, env), sorted(env), utcnow()
    await _restart(session, server, f"new {kind} credentials")
    return row


async def detach(
    session: AsyncSession,
    parts: ServiceParts,
    principal: Principal,
    server_id: uuid.UUID,
    kind: str,
    confirm: str | None,
) -> AttachedService:
    server = await _owned(session, principal, server_id, "detach its services")
    row = find(await rows_of(session, server.id), server, kind)
    if confirm != server.slug:
        raise Conflict(
            f"Detaching {kind} drops {row.resource} with all its data, for good. Confirm with the server's slug: "
            f"?confirm={server.slug}.",
            code="confirmation_required",
            details={"confirm": server.slug},
        )
    await provisioners(parts.settings.integrations)[kind].drop(row.resource, row.username)
    await session.delete(row)
    await _restart(session, server, f"detached {kind}")
    return row


async def drop_all(session: AsyncSession, settings: Settings, server: Server) -> None:
    """Drop everything attached to a server that is going away (best effort: a store that is down keeps what it
    has, which an administrator removes by the names in the logs)."""
    registry = provisioners(settings.integrations)
    for row in await rows_of(session, server.id):
        await registry[row.kind].drop(row.resource, row.username)
