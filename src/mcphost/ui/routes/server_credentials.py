"""Your own credentials for a server (its per-user variables): which it takes, which you set (never a value), and a
form to set them; saved through the same service as the API, so the same rules hold."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from starlette.responses import Response

from mcphost.api.deps import PlatformDep, SessionDep
from mcphost.credentials import service
from mcphost.servers import service as servers
from mcphost.ui.routing import ConsoleRoute, ConsoleUser
from mcphost.ui.templating import render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/servers/{server_id}/credentials")
async def credentials_page(
    request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep
) -> Response:
    found = await service.status(session, principal, server_id)
    may_set = await servers.may_invoke(session, principal, found.server)
    context = {"server": found.server, "tab": "credentials", "found": found, "may_set": may_set}
    return render(request, "server/credentials.html", context)


@router.post("/servers/{server_id}/credentials")
async def save(
    request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    form = await request.form()
    values: dict[str, str | None] = {}
    for name, value in form.multi_items():
        if name.startswith("value:") and isinstance(value, str) and value:
            values[name.removeprefix("value:")] = value
        elif name == "remove" and isinstance(value, str):
            values[value] = None
    found = await service.set_values(session, platform, principal, server_id, values)
    context = {"server": found.server, "found": found, "may_set": True, "saved": sorted(values)}
    return render(request, "server/credentials_form.html", context)
