"""The Files tab of a server: a directory of its /data with sizes, checksums and types, downloads (links to the API,
which sends them as attachments), uploads with a progress bar (the browser streams the file to the API's PUT, see
files.js) and deletes after a confirmation. Reads and changes go through the files service, so the same rules hold:
those who may use the server read, owners and organisation admins change."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from mcphost.accounts.principal import Principal
from mcphost.api.deps import PlatformDep, SessionDep
from mcphost.errors import ValidationFailed
from mcphost.files import service
from mcphost.platform import Platform
from mcphost.servers.permissions import may_own
from mcphost.ui.routing import ConsoleRoute, ConsoleUser
from mcphost.ui.templating import render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


async def _context(
    session: AsyncSession, platform: Platform, principal: Principal, server_id: uuid.UUID, path: str
) -> dict[str, Any]:
    found = await service.read(session, platform.settings, principal, server_id, path)
    if not isinstance(found, service.Listing):
        found.close()
        raise ValidationFailed(f"{path} is a file; download it instead.", code="not_a_directory")
    parts = [] if found.path == "/" else found.path.split("/")
    crumbs = [("/data", "")] + [(part, "/".join(parts[: index + 1])) for index, part in enumerate(parts)]
    return {
        "server": found.server,
        "tab": "files",
        "listing": found,
        "directory": "" if found.path == "/" else found.path,
        "crumbs": crumbs,
        "may_write": await may_own(session, principal, found.server),
        "max_file_bytes": platform.settings.files.max_file_bytes,
    }


@router.get("/servers/{server_id}/files")
async def files_page(
    request: Request,
    server_id: uuid.UUID,
    principal: ConsoleUser,
    session: SessionDep,
    platform: PlatformDep,
    path: str = "",
) -> Response:
    context = await _context(session, platform, principal, server_id, path)
    template = "server/files_table.html" if request.headers.get("hx-request") else "server/files.html"
    return render(request, template, context)


@router.post("/servers/{server_id}/files/delete")
async def delete(
    request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    form = await request.form()
    path = str(form.get("path") or "")
    directory = str(form.get("directory") or "")
    kind = await service.delete(session, platform.settings, principal, server_id, path, recursive=True)
    context = await _context(session, platform, principal, server_id, directory)
    return render(request, "server/files_table.html", context | {"deleted": (kind, path)})
