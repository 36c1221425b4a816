"""The pins tab of a server: its tools, prompts and resources as approved and as declared now, the changes of the
held ones field by field, approving them (one or all) and the pin policy. Approving and the policy go through the
same services as the API, so the same rule holds: owners and organisation admins decide, others read."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from mcphost.accounts.principal import Principal
from mcphost.api.deps import PlatformDep, SessionDep
from mcphost.errors import ValidationFailed
from mcphost.models import PinPolicy, Server
from mcphost.pinning import service as pinning
from mcphost.pinning.definitions import differences
from mcphost.pinning.router import pin_out
from mcphost.pinning.store import pins_of
from mcphost.servers import service
from mcphost.servers.permissions import may_own
from mcphost.servers.schemas import ServerUpdate
from mcphost.ui.routing import ConsoleRoute, ConsoleUser
from mcphost.ui.templating import render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


async def _context(session: AsyncSession, principal: Principal, server: Server) -> dict[str, Any]:
    items = [pin_out(pin, server.pin_policy) for pin in await pins_of(session, server.id)]
    return {
        "server": server,
        "tab": "pins",
        "items": items,
        "changes": {(item.kind, item.name): differences(item.approved, item.current) for item in items},
        "policies": list(PinPolicy),
        "may_decide": await may_own(session, principal, server),
    }


@router.get("/servers/{server_id}/pins")
async def pins_page(request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    server = await service.get_visible(session, principal, server_id)
    return render(request, "server/pins.html", await _context(session, principal, server))


@router.post("/servers/{server_id}/pins/approve")
async def approve(request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    form = await request.form()
    name = form.get("name")
    server, approved = await pinning.approve_held(session, principal, server_id, [str(name)] if name else None)
    context = await _context(session, principal, server) | {"approved": [pin.name for pin in approved]}
    return render(request, "server/pins_table.html", context)


@router.post("/servers/{server_id}/pins/policy")
async def policy(
    request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    chosen = str((await request.form()).get("policy", ""))
    if chosen not in {policy.value for policy in PinPolicy}:
        raise ValidationFailed("Choose pin, warn or off.")
    changes = ServerUpdate(pin_policy=PinPolicy(chosen))
    server = await service.update_server(session, platform, principal, server_id, changes)
    context = await _context(session, principal, server) | {"policy_saved": True}
    return render(request, "server/pins_table.html", context)
