"""The Services tab of a server: its attached PostgreSQL, Redis and S3 (what was made, the variables it gets, never a
value), attach buttons for the configured kinds, and detach after typing the server's slug (it drops the data).
Changes go through the integrations service, so the same rules hold: owners and organisation admins change."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from mcphost.accounts.principal import Principal
from mcphost.api.deps import PlatformDep, SessionDep
from mcphost.errors import ValidationFailed
from mcphost.integrations import service
from mcphost.integrations.registry import KINDS, provisioners
from mcphost.platform import Platform
from mcphost.servers.permissions import may_own
from mcphost.ui.routing import ConsoleRoute, ConsoleUser
from mcphost.ui.templating import render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
LABELS = {"postgres": "PostgreSQL", "redis": "Redis", "s3": "S3 storage"}


async def _context(
    session: AsyncSession, platform: Platform, principal: Principal, server_id: uuid.UUID
) -> dict[str, Any]:
    server, rows = await service.list_services(session, principal, server_id)
    registry = provisioners(platform.settings.integrations)
    attached = {row.kind for row in rows}
    return {
        "server": server,
        "tab": "services",
        "services": rows,
        "labels": LABELS,
        "available": [kind for kind in KINDS if kind not in attached and registry[kind].configured() is None],
        "unconfigured": [LABELS[kind] for kind in KINDS if registry[kind].configured() is not None],
        "may_change": await may_own(session, principal, server),
    }


@router.get("/servers/{server_id}/services")
async def services_page(
    request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    return render(request, "server/services.html", await _context(session, platform, principal, server_id))


@router.post("/servers/{server_id}/services")
async def attach(
    request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    kind = str((await request.form()).get("kind") or "")
    if kind not in KINDS:
        raise ValidationFailed(f"Attach one of {', '.join(KINDS)}.", code="invalid_kind")
    row = await service.attach(session, platform, principal, server_id, kind)
    context = await _context(session, platform, principal, server_id)
    return render(request, "server/services_card.html", context | {"done": f"Attached {LABELS[row.kind]}"})


@router.post("/servers/{server_id}/services/{kind}/detach")
async def detach(
    request: Request,
    server_id: uuid.UUID,
    kind: str,
    principal: ConsoleUser,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    confirm = str((await request.form()).get("confirm") or "")
    row = await service.detach(session, platform, principal, server_id, kind, confirm.strip())
    context = await _context(session, platform, principal, server_id)
    done = f"Detached {LABELS.get(row.kind, row.kind)}: {row.resource} was dropped"
    return render(request, "server/services_card.html", context | {"done": done})
