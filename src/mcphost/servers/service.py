"""Rules of servers: who may create, see and change them, quotas, sources and their runtimes, secrets.

Changes to what runs (source, environment, limits) bump the server's ``generation``; the lifecycle layer
restarts a running server whose instance is of an older generation. Every change that needs the runtime
enqueues a reconcile job in the same transaction. Every deploy (create, changed settings, redeploy) is recorded as
a numbered revision (``revisions``)."""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.accounts.quotas import ensure_server_quota
from mcphost.builds.source import GitSource
from mcphost.catalog import service as catalog
from mcphost.db.base import utcnow
from mcphost.db.session import queue_after_commit
from mcphost.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mcphost.integrations.store import rows_of as attached_rows
from mcphost.models import (
    DesiredState,
    Isolation,
    OrgRole,
    PinPolicy,
    RevisionReason,
    Server,
    ServerStatus,
    UsageEvent,
)
from mcphost.orgs.access import require_org_role
from mcphost.pinning.store import held_names, pins_of
from mcphost.revisions.record import Trigger, record_revision
from mcphost.runtimes.base import PrepareFailed
from mcphost.runtimes.registry import CONTAINER_SOURCES, Runtimes
from mcphost.secretstore import SecretStore
from mcphost.security.keys import KeyRing
from mcphost.servers import keys, lifecycle_jobs
from mcphost.servers.catalog_resolution import resolve
from mcphost.servers.permissions import may_use, require_owner
from mcphost.servers.permissions import server_event as server_event
from mcphost.servers.repository import ServerRepository
from mcphost.servers.schemas import RedeployOptions, Resources, ServerCreate, ServerUpdate, ToolRules
from mcphost.servers.source_secrets import sealed
from mcphost.settings import Settings
from mcphost.webhooks import secrets as webhook_secrets

RUNTIME_FIELDS = ("env", "config", "secret_env", "resources", "network", "isolation")


class ServerParts(Protocol):
    """What the rules of servers read of the process serving them (a ``Platform`` has all of it): which sources
    may be deployed and where, the configured runtimes, and the keys that seal secrets and access keys."""

    @property
    def settings(self) -> Settings: ...

    @property
    def keys(self) -> KeyRing: ...

    @property
    def runtimes(self) -> Runtimes: ...

    @property
    def secret_store(self) -> SecretStore: ...


def _slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "server"


async def _unique_slug(repository: ServerRepository, name: str) -> str:
    slug = _slugify(name)
    while await repository.slug_taken(slug):
        slug = f"{_slugify(name)[:53]}-{secrets.token_hex(3)}"
    return slug


def add_usage(session: AsyncSession, server: Server, kind: str, data: dict[str, Any] | None = None) -> None:
    """Record a usage event and publish it (``server.usage``) once the transaction commits."""
    session.add(UsageEvent(server_id=server.id, kind=kind, data=data or {}))
    queue_after_commit(session, server_event("server.usage", server, usage=kind, data=data or {}))


async def create_server(
    session: AsyncSession, parts: ServerParts, principal: Principal, data: ServerCreate, *, trusted: bool = False
) -> tuple[Server, str, str]:
    """Create a server (revision 1, its first access key and its webhook secret); returns it, the access key and
    the webhook secret, both shown only now. ``trusted``: the command is the platform's own (a vector database's
    search server), not one the caller wrote, so the rule about who may deploy commands does not apply."""
    org = None
    if data.org_id is not None:
        org, _ = await require_org_role(session, principal, data.org_id, OrgRole.MEMBER)
    source = data.source.model_dump()
    env, secret_env = dict(data.env or {}), dict(data.secret_env or {})
    may_command = trusted or principal.is_admin or parts.settings.runtime.allow_user_commands
    if source["type"] == "command" and not may_command:
        raise Forbidden(
            "Only administrators can deploy command sources on this instance; deploy a package or catalog "
            "entry instead.",
            code="command_not_allowed",
        )
    per_user_env, isolation = data.per_user_env, data.isolation
    if source["type"] == "catalog":
        entry = await catalog.get_entry(session, source["name"], source.get("version"))
        resolved = resolve(
            catalog.parse_server_json(entry.document),
            name_version=entry.version,
            env=env,
            secret_env=secret_env,
            per_user_env=per_user_env,
        )
        source, env, secret_env, per_user_env = (
            resolved.source,
            resolved.env,
            resolved.secret_env,
            resolved.per_user_env,
        )
        if per_user_env and isolation is None:
            isolation = Isolation.PER_USER  # each user's own values need instances of their own
    if source["type"] == "git":
        _check_git_source(source, parts.settings)
    runnable_type = source["package"]["type"] if source["type"] == "catalog" else source["type"]
    runtime_type = await asyncio.to_thread(parts.runtimes.for_source, runnable_type, data.runtime)
    if runtime_type is None:
        raise Conflict(unavailable_reason(parts, runnable_type, data.runtime) or "", code="runtime_unavailable")
    _check_per_user(per_user_env or [], isolation or Isolation.SHARED)
    await ensure_server_quota(session, user=None if org else principal.user, org=org)
    repository = ServerRepository(session)
    server_id = uuid.uuid4()
    source = sealed(source, server_id, parts.keys)
    resources = data.resources or Resources()
    server = await repository.add(
        Server(
            id=server_id,
            name=data.name,
            slug=await _unique_slug(repository, data.name),
            owner_user_id=None if org else principal.user_id,
            org_id=org.id if org else None,
            created_by=principal.user_id,
            source=source,
            runtime=runtime_type,
            node=parts.settings.runtime.node_name,
            env=env,
            config=dict(data.config or {}),
            secret_env=await parts.secret_store.store(server_id, {}, secret_env),
            resources=resources.model_dump(),
            network=data.network or "default",
            isolation=isolation or Isolation.SHARED,
            max_instances=data.max_instances,
            idle_seconds=data.idle_seconds,
            desired_state=DesiredState.RUNNING if data.start else DesiredState.STOPPED,
            status=ServerStatus.PENDING if data.start else ServerStatus.STOPPED,
            pin_policy=data.pin_policy or PinPolicy.PIN,
            per_user_env=list(per_user_env or []),
        )
    )
    await record_revision(session, server, Trigger(RevisionReason.CREATE, user_id=principal.user_id))
    _, access_key = await keys.add_key(session, parts.keys, server, "default", principal.user_id)
    webhook_secret = await webhook_secrets.issue(session, parts.keys, server)
    add_usage(session, server, "create", {"source": runnable_type})
    await lifecycle_jobs.enqueue_reconcile(session, server)
    queue_after_commit(session, server_event("server.created", server))
    return server, access_key, webhook_secret


def _check_git_source(source: dict[str, Any], settings: Settings) -> None:
    """Refuse now what the build would refuse later: a URL scheme this instance does not allow, a URL with no host."""
    try:
        GitSource.parse(source, frozenset(settings.builds.allow_git_schemes))
    except PrepareFailed as exc:
        raise ValidationFailed(str(exc), code="invalid_git_source") from exc


def _check_per_user(names: list[str], isolation: Isolation) -> None:
    if names and isolation is Isolation.SHARED:
        raise ValidationFailed(
            f"per_user_env ({', '.join(names)}) needs per_user or per_session isolation: with one shared instance, "
            "whose values would it get? Set isolation to per_user, or per_user_env to [] and give one value for all."
        )


def unavailable_reason(parts: ServerParts, source_type: str, wanted: str | None = None) -> str | None:
    """Why no configured runtime (or not the one asked for) can run this kind of source, or None when one can."""
    runtimes = parts.runtimes
    if wanted is not None:
        why = runtimes.why_not(source_type, wanted)
        return f"This server cannot run on the {wanted} runtime: {why}." if why else None
    if runtimes.for_source(source_type) is not None:
        return None
    if source_type in CONTAINER_SOURCES:
        why = runtimes.why_not(source_type, "docker") if parts.settings.docker.default_for_images else None
        return (
            f"{source_type.capitalize()} sources run on Docker, and {why or 'docker.default_for_images is off'}; "
            "deploy a package, catalog or command source, or ask an administrator to set up Docker."
        )
    return (
        f"No configured runtime can run {source_type} sources yet (configured: "
        f"{', '.join(parts.runtimes.configured)}); deploy a package, catalog or command source."
    )


async def get_visible(
    session: AsyncSession, principal: Principal, server_id: uuid.UUID, *, for_update: bool = False
) -> Server:
    server = await ServerRepository(session).visible(principal, server_id, for_update=for_update)
    if server is None:
        raise NotFound("No server with this id.")
    return server


async def get_modifiable(session: AsyncSession, principal: Principal, server_id: uuid.UUID) -> Server:
    """A server the principal may change: its own, or its org's with at least the member role."""
    server = await get_visible(session, principal, server_id, for_update=True)
    if server.org_id is not None and not principal.is_admin:
        await require_org_role(session, principal, server.org_id, OrgRole.MEMBER)
    elif server.owner_user_id != principal.user_id and not principal.is_admin:
        raise Forbidden("Only the server's owner can change it.", code="insufficient_role")
    return server


async def get_invocable(session: AsyncSession, principal: Principal, server_id: uuid.UUID) -> Server:
    """A server whose tools the principal may call: viewers of an organisation read its servers, members (and
    above) call them, like the MCP endpoint (``gateway.access``) and the console's "try it" decide."""
    server = await get_visible(session, principal, server_id)
    if not await may_invoke(session, principal, server):
        raise Forbidden(
            "Viewers of an organisation can read its servers but not call their tools; ask an admin of the "
            "organisation for the member role.",
            code="insufficient_role",
        )
    return server


async def may_modify(session: AsyncSession, principal: Principal, server: Server) -> bool:
    """Whether ``get_modifiable`` would let the principal change this (visible) server; one query at most."""
    return await may_use(session, principal.user, server, admin=principal.is_admin)


async def may_invoke(session: AsyncSession, principal: Principal, server: Server) -> bool:
    """Whether the principal may call this (visible) server's tools: the same rule as changing it (members
    invoke, viewers only read)."""
    return await may_use(session, principal.user, server, admin=principal.is_admin)


async def list_servers(
    session: AsyncSession, principal: Principal, *, org_id: uuid.UUID | None, limit: int, cursor: str | None
) -> tuple[list[Server], str | None]:
    return await ServerRepository(session).page(principal, org_id=org_id, limit=limit, cursor=cursor)


async def update_server(
    session: AsyncSession, parts: ServerParts, principal: Principal, server_id: uuid.UUID, changes: ServerUpdate
) -> Server:
    server = await get_modifiable(session, principal, server_id)
    given = changes.model_fields_set
    if "name" in given and changes.name is not None:
        server.name = changes.name
    runtime_changed = False
    if "env" in given and changes.env is not None:
        server.env, runtime_changed = dict(changes.env), True
    if "config" in given and changes.config is not None:
        server.config, runtime_changed = dict(changes.config), True
    if "secret_env" in given and changes.secret_env is not None:
        stored = await parts.secret_store.store(server.id, server.secret_env or {}, changes.secret_env)
        server.secret_env, runtime_changed = stored, True
    if "resources" in given and changes.resources is not None:
        server.resources, runtime_changed = changes.resources.model_dump(), True
    if "network" in given and changes.network is not None:
        server.network, runtime_changed = changes.network, True
    if "isolation" in given and changes.isolation is not None:
        server.isolation, runtime_changed = changes.isolation, True
    if "per_user_env" in given and changes.per_user_env is not None:
        server.per_user_env, runtime_changed = list(changes.per_user_env), True
    _check_per_user(server.per_user_env or [], server.isolation)
    # Applied by the gateway without a restart; null goes back to the platform's default.
    if "max_instances" in given:
        server.max_instances = changes.max_instances
    if "idle_seconds" in given:
        server.idle_seconds = changes.idle_seconds
    if "tool_rules" in given and changes.tool_rules is not None:
        rules = changes.tool_rules.model_dump()
        if rules != ToolRules.model_validate(server.tool_rules or {}).model_dump():
            await require_owner(session, principal, server, "change which tools it offers")
            if rules["min_role"] and server.org_id is None:
                raise ValidationFailed(
                    "tool_rules.min_role applies to servers of an organisation; a personal server's tools are its "
                    "owner's. Disable a tool instead."
                )
            server.tool_rules = rules
    if "pin_policy" in given and changes.pin_policy is not None and changes.pin_policy is not server.pin_policy:
        # Whoever may approve held definitions may stop holding them; members may not.
        await require_owner(session, principal, server, "change its pin policy")
        server.pin_policy = changes.pin_policy
        server.held = held_names(await pins_of(session, server.id), server.pin_policy)
    if runtime_changed:
        server.generation += 1
        server.consecutive_crashes = 0  # a changed configuration deserves a fresh start
        await record_revision(session, server, Trigger(RevisionReason.UPDATE, user_id=principal.user_id))
        if server.desired_state is DesiredState.RUNNING:
            await lifecycle_jobs.enqueue_reconcile(session, server)
    server.updated_at = utcnow()
    await session.flush()
    queue_after_commit(session, server_event("server.updated", server))
    return server


async def delete_server(session: AsyncSession, principal: Principal, server_id: uuid.UUID) -> None:
    server = await get_modifiable(session, principal, server_id)
    await remove_server(session, server)


async def remove_server(session: AsyncSession, server: Server) -> None:
    """The one way a server goes away: its node stops whatever still runs of it, removes its data and drops its
    attached services (a teardown job, in this transaction), the row goes, and the gateway ends its sessions once this
    commits."""
    attached = [
        {"kind": row.kind, "resource": row.resource, "username": row.username}
        for row in await attached_rows(session, server.id)
    ]
    await lifecycle_jobs.enqueue_teardown(session, server, attached)
    await ServerRepository(session).delete(server)
    queue_after_commit(session, server_event("server.deleted", server))


async def remove_servers_of(
    session: AsyncSession, *, user_id: uuid.UUID | None = None, org_id: uuid.UUID | None = None
) -> int:
    """Delete every server an owner (a user personally, or an organisation) has, each through ``remove_server``;
    the caller holds the owner's quota lock so no server is created meanwhile. Returns how many went."""
    servers = await ServerRepository(session).owned(user_id=user_id, org_id=org_id, for_update=True)
    for server in servers:
        await remove_server(session, server)
    return len(servers)


async def set_desired(
    session: AsyncSession,
    principal: Principal,
    server_id: uuid.UUID,
    action: str,
    options: RedeployOptions | None = None,
) -> Server:
    """start, stop, restart or redeploy: record what should be, and let the lifecycle layer make it so."""
    if options is not None and action != "redeploy":
        raise ValidationFailed(f"no_cache and pull are options of redeploy; {action} takes no body.")
    server = await get_modifiable(session, principal, server_id)
    trigger = Trigger(RevisionReason.REDEPLOY, user_id=principal.user_id)
    return await act_on(session, server, action, trigger, options)


async def act_on(
    session: AsyncSession, server: Server, action: str, trigger: Trigger, options: RedeployOptions | None = None
) -> Server:
    """``set_desired`` on a server the caller may change (and holds locked): a webhook, a push and a rollback
    redeploy through here too. A redeploy records a revision made by ``trigger`` and prepares the source anew
    (``options``: how)."""
    if action == "redeploy":
        await record_revision(session, server, trigger)
    if action == "stop":
        server.desired_state = DesiredState.STOPPED
    else:
        server.desired_state = DesiredState.RUNNING
        server.consecutive_crashes = 0
        if action in ("restart", "redeploy"):
            server.generation += 1
    await session.flush()
    add_usage(session, server, action, {"generation": server.generation})
    prepare = (options or RedeployOptions()).flags() if action == "redeploy" else None
    await lifecycle_jobs.enqueue_reconcile(session, server, prepare=prepare, restart=action == "restart")
    queue_after_commit(session, server_event("server.desired", server, action=action))
    return server
