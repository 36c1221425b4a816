"""The domains tab of a server: its custom domains with how to verify each (DNS TXT record or HTTP file), verifying,
the certificate's state, adding and removing. Every change goes through the same services as the API, so the same
rules hold: owners and organisation admins change domains, others read."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from mcphost.accounts.principal import Principal
from mcphost.api.deps import PlatformDep, SessionDep
from mcphost.domains import service
from mcphost.domains.views import domain_out
from mcphost.models import Server
from mcphost.platform import Platform
from mcphost.servers import service as servers
from mcphost.ui.routing import ConsoleRoute, ConsoleUser
from mcphost.ui.templating import render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


async def _context(session: AsyncSession, platform: Platform, principal: Principal, server: Server) -> dict[str, Any]:
    domains = await service.domains_of(session, principal, server.id)
    return {
        "server": server,
        "tab": "domains",
        "domains": [domain_out(platform.settings, domain) for domain in domains],
        "enabled": platform.settings.domains.enabled,
        "may_manage": await service.may_manage(session, principal, server),
    }


async def _card(
    request: Request,
    session: AsyncSession,
    platform: Platform,
    principal: Principal,
    server_id: uuid.UUID,
    **extra: Any,
) -> Response:
    server = await servers.get_visible(session, principal, server_id)
    context = await _context(session, platform, principal, server) | extra
    return render(request, "server/domains_card.html", context)


@router.get("/servers/{server_id}/domains")
async def domains_page(
    request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    server = await servers.get_visible(session, principal, server_id)
    return render(request, "server/domains.html", await _context(session, platform, principal, server))


@router.post("/servers/{server_id}/domains")
async def add(
    request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    form = await request.form()
    domain = await service.add(session, platform, principal, server_id, str(form.get("domain") or ""))
    return await _card(request, session, platform, principal, server_id, added=domain.name)


@router.post("/servers/{server_id}/domains/{domain}/verify")
async def verify(
    request: Request,
    server_id: uuid.UUID,
    domain: str,
    principal: ConsoleUser,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    claim = await service.claim_to_verify(session, principal, server_id, domain)
    if isinstance(claim, service.Claim):
        await session.commit()  # nothing written: end the transaction before waiting on DNS and HTTP
        method = await service.prove(platform, claim)
        claim = await service.mark_verified(session, principal, claim, method)
    return await _card(request, session, platform, principal, server_id, verified=claim.name)


@router.post("/servers/{server_id}/domains/{domain}/remove")
async def remove(
    request: Request,
    server_id: uuid.UUID,
    domain: str,
    principal: ConsoleUser,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    await service.remove(session, principal, server_id, domain)
    return await _card(request, session, platform, principal, server_id, removed=domain)
