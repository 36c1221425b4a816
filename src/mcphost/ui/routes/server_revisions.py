"""The revisions tab of a server: every deploy with a rollback button, a redeploy form, and its webhooks (URLs, how
to set up GitHub, rotating the secret, which is shown once, and the recent deliveries).

Rollback and rotation go through the same services as the API (``revisions.service.rollback``,
``webhooks.service.rotate``), so the same permissions hold: members roll back, owners and organisation admins
rotate, viewers read."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from mcphost.accounts.principal import Principal
from mcphost.api.deps import PlatformDep, SessionDep
from mcphost.models import Server
from mcphost.platform import Platform
from mcphost.revisions import service as revisions
from mcphost.revisions.views import describe_resolved
from mcphost.servers import service
from mcphost.servers.schemas import RedeployOptions
from mcphost.ui.routes.server import describe_source
from mcphost.ui.routing import ConsoleRoute, ConsoleUser
from mcphost.ui.templating import render
from mcphost.webhooks import service as webhooks
from mcphost.webhooks.repository import DeliveryRepository
from mcphost.webhooks.router import webhook_out

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
REVISIONS_SHOWN = 50
DELIVERIES_SHOWN = 10


async def _context(session: AsyncSession, platform: Platform, principal: Principal, server: Server) -> dict[str, Any]:
    _, rows, more = await revisions.list_revisions(session, principal, server.id, limit=REVISIONS_SHOWN, cursor=None)
    _, webhook = await webhooks.webhook_of(session, principal, server.id)
    deliveries, _ = await DeliveryRepository(session).page(server.id, limit=DELIVERIES_SHOWN, cursor=None)
    return {
        "server": server,
        "tab": "revisions",
        "revisions": [
            {
                "revision": revision,
                "creator": creator,
                "source": describe_source(revision.source),
                "resolved": describe_resolved(revision.resolved) if revision.resolved else None,
            }
            for revision, creator in rows
        ],
        "more_revisions": more is not None,
        "webhook": webhook_out(platform.settings.effective_public_url, server, webhook),
        "deliveries": deliveries,
        "may_modify": await service.may_modify(session, principal, server),
        "may_rotate": await webhooks.may_rotate(session, principal, server),
    }


@router.get("/servers/{server_id}/revisions")
async def revisions_page(
    request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    server = await service.get_visible(session, principal, server_id)
    return render(request, "server/revisions.html", await _context(session, platform, principal, server))


@router.post("/servers/{server_id}/revisions/{number}/rollback")
async def rollback(
    request: Request,
    server_id: uuid.UUID,
    number: int,
    principal: ConsoleUser,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    server, revision = await revisions.rollback(session, platform, principal, server_id, number)
    context = await _context(session, platform, principal, server)
    context["rolled_back"] = (number, revision.number)
    return render(request, "server/revisions_table.html", context)


@router.post("/servers/{server_id}/redeploy")
async def redeploy(
    request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    form = await request.form()
    options = RedeployOptions(no_cache="no_cache" in form, pull="pull" in form)
    server = await service.set_desired(session, principal, server_id, "redeploy", options)
    context = await _context(session, platform, principal, server) | {"redeployed": server.revision}
    return render(request, "server/revisions_table.html", context)


@router.post("/servers/{server_id}/webhook/rotate")
async def rotate(
    request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    server, _, secret = await webhooks.rotate(session, platform, principal, server_id)
    context = await _context(session, platform, principal, server) | {"secret": secret}
    return render(request, "server/webhook_rotated.html", context)
