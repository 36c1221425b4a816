"""The dashboard: the servers a user can see (their own and their organisations') as cards with live status,
and the quick actions of every server (start, stop, restart, delete) that the cards and server pages use.

Actions answer 204: the new status arrives over the page's live event stream. One that cannot apply to the
server's status (start a running server) answers 409 with the reason (``server_actions``). Delete sends the
browser to the dashboard. The card list refreshes itself (``/dashboard/cards``) when servers are created or deleted
elsewhere."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from mcphost.accounts.principal import Principal
from mcphost.api.deps import PlatformDep, SessionDep
from mcphost.models import Server
from mcphost.orgs.repository import OrgRepository
from mcphost.platform import Platform
from mcphost.servers import service
from mcphost.servers.views import endpoint_url
from mcphost.ui import server_actions
from mcphost.ui.routes.deploy_forms import gpus, source_summary
from mcphost.ui.routing import ConsoleRoute, ConsoleUser, redirect
from mcphost.ui.templating import render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
PAGE_SIZE = 60
Cursor = Annotated[str | None, Query(max_length=200)]


@dataclass
class Card:
    server: Server
    endpoint: str
    source: str
    gpus: int
    org_name: str | None


async def _cards(
    session: AsyncSession, platform: Platform, principal: Principal, cursor: str | None
) -> dict[str, object]:
    servers, next_cursor = await service.list_servers(session, principal, org_id=None, limit=PAGE_SIZE, cursor=cursor)
    org_names: dict[uuid.UUID, str] = {}
    if any(server.org_id is not None for server in servers):  # one query for all the cards' organisations
        rows = await OrgRepository(session).visible_to(principal.user_id, everything=principal.is_admin)
        org_names = {org.id: org.name for org, _ in rows}
    public_url = platform.settings.effective_public_url
    cards = [
        Card(
            server=server,
            endpoint=endpoint_url(public_url, server.slug),
            source=source_summary(server.source),
            gpus=gpus(server),
            org_name=org_names.get(server.org_id) if server.org_id else None,
        )
        for server in servers
    ]
    return {"cards": cards, "next_cursor": next_cursor, "cursor": cursor}


@router.get("/dashboard")
async def dashboard(
    request: Request, principal: ConsoleUser, session: SessionDep, platform: PlatformDep, cursor: Cursor = None
) -> Response:
    return render(request, "dashboard/index.html", await _cards(session, platform, principal, cursor))


@router.get("/dashboard/cards")
async def cards(
    request: Request, principal: ConsoleUser, session: SessionDep, platform: PlatformDep, cursor: Cursor = None
) -> Response:
    """The card list alone, for the dashboard to refresh when servers come and go."""
    return render(request, "dashboard/cards.html", await _cards(session, platform, principal, cursor))


async def _act(principal: Principal, session: AsyncSession, server_id: uuid.UUID, action: str) -> Response:
    server_actions.check(await service.get_modifiable(session, principal, server_id), action)
    await service.set_desired(session, principal, server_id, action)
    return Response(status_code=204)


@router.post("/servers/{server_id}/start")
async def start(server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    return await _act(principal, session, server_id, "start")


@router.post("/servers/{server_id}/stop")
async def stop(server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    return await _act(principal, session, server_id, "stop")


@router.post("/servers/{server_id}/restart")
async def restart(server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    return await _act(principal, session, server_id, "restart")


@router.post("/servers/{server_id}/delete")
async def delete(server_id: uuid.UUID, request: Request, principal: ConsoleUser, session: SessionDep) -> Response:
    await service.delete_server(session, principal, server_id)
    return redirect(request, "/dashboard")
