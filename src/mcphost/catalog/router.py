"""Endpoints of the catalog."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status

from mcphost.api.deps import AdminPrincipal, ReadPrincipal, SessionDep
from mcphost.api.schemas import AUTHENTICATED_ERRORS, error_responses
from mcphost.catalog import service
from mcphost.catalog.schemas import CatalogEntryOut

router = APIRouter(prefix="/api/catalog", tags=["catalog"], responses=AUTHENTICATED_ERRORS)


@router.get("", summary="Search deployable servers (newest version of each)")
async def search(
    _principal: ReadPrincipal,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=200, description="Words in the name, title or description.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CatalogEntryOut]:
    return await service.search(session, q, limit=limit)


@router.get("/{name:path}", summary="One entry by its server.json name")
async def get_entry(
    name: str,
    _principal: ReadPrincipal,
    session: SessionDep,
    version: Annotated[str | None, Query(max_length=255)] = None,
) -> CatalogEntryOut:
    return service.entry_out(await service.get_entry(session, name, version))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409),
    summary="Import a server.json (administrators)",
)
async def import_entry(
    _admin: AdminPrincipal, session: SessionDep, document: Annotated[dict[str, Any], Body()]
) -> CatalogEntryOut:
    entry = await service.import_entry(session, service.parse_server_json(document))
    return service.entry_out(entry)
