"""Endpoints of servers, their lifecycle actions and their access keys."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status

from mcphost.api.deps import PlatformDep, ReadPrincipal, SessionDep, WritePrincipal
from mcphost.api.schemas import AUTHENTICATED_ERRORS, Page, error_responses
from mcphost.db.pagination import MAX_LIMIT
from mcphost.servers import keys, service
from mcphost.servers.schemas import (
    AccessKeyCreate,
    AccessKeyCreated,
    AccessKeyOut,
    RedeployOptions,
    ServerCreate,
    ServerCreated,
    ServerOut,
    ServerUpdate,
)
from mcphost.servers.views import server_out

router = APIRouter(prefix="/api/servers", tags=["servers"], responses=AUTHENTICATED_ERRORS)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409),
    summary="Deploy a server from the catalog, a package, a command, an image or a git repository",
)
async def create_server(
    body: ServerCreate, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> ServerCreated:
    server, access_key, webhook_secret = await service.create_server(session, platform, principal, body)
    shown = server_out(server, platform.settings.effective_public_url)
    return ServerCreated(**shown.model_dump(), access_key=access_key, webhook_secret=webhook_secret)


@router.get("", summary="Servers you may see (administrators: all)")
async def list_servers(
    principal: ReadPrincipal,
    session: SessionDep,
    platform: PlatformDep,
    org_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[ServerOut]:
    servers, next_cursor = await service.list_servers(session, principal, org_id=org_id, limit=limit, cursor=cursor)
    public_url = platform.settings.effective_public_url
    return Page[ServerOut](items=[server_out(s, public_url) for s in servers], next_cursor=next_cursor)


@router.get("/{server_id}", summary="One server")
async def get_server(
    server_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep, platform: PlatformDep
) -> ServerOut:
    server = await service.get_visible(session, principal, server_id)
    return server_out(server, platform.settings.effective_public_url)


@router.patch("/{server_id}", summary="Change name, environment, config, secrets, resources or isolation")
async def update_server(
    server_id: uuid.UUID, body: ServerUpdate, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> ServerOut:
    server = await service.update_server(session, platform, principal, server_id, body)
    return server_out(server, platform.settings.effective_public_url)


@router.delete("/{server_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Stop and delete a server")
async def delete_server(server_id: uuid.UUID, principal: WritePrincipal, session: SessionDep) -> None:
    await service.delete_server(session, principal, server_id)


@router.post(
    "/{server_id}/keys",
    status_code=status.HTTP_201_CREATED,
    summary="Create an access key for the server's endpoint (shown once)",
)
async def create_key(
    server_id: uuid.UUID, body: AccessKeyCreate, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> AccessKeyCreated:
    server = await service.get_modifiable(session, principal, server_id)
    key, secret = await keys.add_key(session, platform.keys, server, body.name, principal.user_id)
    shown = keys.key_out(key, principal.user, creator_has_access=True)
    return AccessKeyCreated(**shown.model_dump(), key=secret)


@router.get("/{server_id}/keys", summary="The server's access keys with their creators (never the keys themselves)")
async def list_keys(server_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> list[AccessKeyOut]:
    server = await service.get_visible(session, principal, server_id)
    return await keys.list_keys(session, server)


@router.delete(
    "/{server_id}/keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(409),
    summary="Revoke an access key, named by its id or its prefix (409 when several keys share the prefix)",
)
async def revoke_key(
    server_id: uuid.UUID,
    key_id: Annotated[
        str, Path(max_length=200, description="The key's id, its prefix as the list shows it, or the key itself.")
    ],
    principal: WritePrincipal,
    session: SessionDep,
    platform: PlatformDep,
) -> None:
    server = await service.get_modifiable(session, principal, server_id)
    await keys.revoke_key(session, platform.keys, server, key_id)


@router.post(
    "/{server_id}/redeploy",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Redeploy: prepare the source anew as a new revision and move to it without downtime (the running "
    "revision serves until the new one answers MCP); follow its status stream for progress",
)
async def redeploy(
    server_id: uuid.UUID,
    principal: WritePrincipal,
    session: SessionDep,
    platform: PlatformDep,
    options: Annotated[RedeployOptions, Query()],
) -> ServerOut:
    server = await service.set_desired(session, principal, server_id, "redeploy", options)
    return server_out(server, platform.settings.effective_public_url)


# Declared last: its path would otherwise shadow /{server_id}/keys and /{server_id}/redeploy.
@router.post(
    "/{server_id}/{action}",
    status_code=status.HTTP_202_ACCEPTED,
    summary="start, stop or restart a server (restart stops it first); follow its status stream for progress",
)
async def act(
    server_id: uuid.UUID,
    action: Literal["start", "stop", "restart"],
    principal: WritePrincipal,
    session: SessionDep,
    platform: PlatformDep,
) -> ServerOut:
    server = await service.set_desired(session, principal, server_id, action)
    return server_out(server, platform.settings.effective_public_url)
