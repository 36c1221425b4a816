"""How a server is shown: its endpoint, and its secrets by name only."""

from __future__ import annotations

from mcphost.models import Server
from mcphost.servers.schemas import Resources, ServerOut, ToolRules
from mcphost.servers.source_secrets import masked


def endpoint_url(public_url: str, slug: str) -> str:
    return f"{public_url}/mcp/{slug}"


def server_out(server: Server, public_url: str) -> ServerOut:
    return ServerOut(
        id=server.id,
        name=server.name,
        slug=server.slug,
        owner_user_id=server.owner_user_id,
        org_id=server.org_id,
        source=masked(server.source),
        runtime=server.runtime,
        status=server.status,
        status_reason=server.status_reason,
        desired_state=server.desired_state,
        endpoint_url=endpoint_url(public_url, server.slug),
        env=dict(server.env),
        config=dict(server.config),
        secret_env=sorted(server.secret_env),
        resources=Resources.model_validate(server.resources),
        isolation=server.isolation,
        network=server.network,
        max_instances=server.max_instances,
        idle_seconds=server.idle_seconds,
        evictions=server.evictions,
        pin_policy=server.pin_policy,
        tool_rules=ToolRules.model_validate(server.tool_rules or {}),
        per_user_env=list(server.per_user_env or []),
        held=dict(server.held or {}),
        restart_count=server.restart_count,
        revision=server.revision,
        warnings=list(server.warnings),
        created_at=server.created_at,
        updated_at=server.updated_at,
        last_started_at=server.last_started_at,
    )
