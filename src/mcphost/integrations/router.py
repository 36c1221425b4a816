"""Endpoints of a server's attached services (PostgreSQL, Redis, S3): list, attach, re-key, detach."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from mcphost.api.deps import PlatformDep, ReadPrincipal, SessionDep, WritePrincipal
from mcphost.api.schemas import AUTHENTICATED_ERRORS, error_responses
from mcphost.integrations import service
from mcphost.integrations.schemas import ServiceAttach, ServiceDetached, ServiceKind, ServiceOut, ServiceUpdate
from mcphost.models import AttachedService

router = APIRouter(prefix="/api/servers", tags=["services"], responses=AUTHENTICATED_ERRORS)


def service_out(row: AttachedService) -> ServiceOut:
    return ServiceOut(
        kind=row.kind,
        resource=row.resource,
        username=row.username,
        env=list(row.env_names),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.get("/{server_id}/services", summary="The services attached to the server (variable names, never values)")
async def list_services(server_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> list[ServiceOut]:
    _, rows = await service.list_services(session, principal, server_id)
    return [service_out(row) for row in rows]


@router.post(
    "/{server_id}/services",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409, 503),
    summary="Attach a PostgreSQL database, a Redis key prefix or an S3 bucket of its own (restarts the server)",
)
async def attach(
    server_id: uuid.UUID, body: ServiceAttach, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> ServiceOut:
    return service_out(await service.attach(session, platform, principal, server_id, body.kind))


@router.patch(
    "/{server_id}/services/{kind}",
    responses=error_responses(503),
    summary="Give the server new credentials for an attached service (restarts the server)",
)
async def update(
    server_id: uuid.UUID,
    kind: ServiceKind,
    body: ServiceUpdate,
    principal: WritePrincipal,
    session: SessionDep,
    platform: PlatformDep,
) -> ServiceOut:
    if not body.rotate_credentials:
        server, rows = await service.list_services(session, principal, server_id)
        return service_out(service.find(rows, server, kind))
    return service_out(await service.rotate(session, platform, principal, server_id, kind))


@router.delete(
    "/{server_id}/services/{kind}",
    responses=error_responses(409, 503),
    summary="Detach a service and drop its data (confirm=<the server's slug>; restarts the server)",
)
async def detach(
    server_id: uuid.UUID,
    kind: ServiceKind,
    principal: WritePrincipal,
    session: SessionDep,
    platform: PlatformDep,
    confirm: Annotated[str | None, Query(max_length=100, description="The server's slug: yes, drop the data.")] = None,
) -> ServiceDetached:
    row = await service.detach(session, platform, principal, server_id, kind, confirm)
    return ServiceDetached(kind=kind, resource=row.resource)
