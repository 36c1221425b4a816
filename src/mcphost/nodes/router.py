"""``GET /api/nodes``: the nodes hosting servers and whether each is up (administrators)."""

from __future__ import annotations

from fastapi import APIRouter

from mcphost.api.deps import AdminPrincipal, PlatformDep, SessionDep
from mcphost.api.schemas import AUTHENTICATED_ERRORS
from mcphost.nodes import service
from mcphost.nodes.schemas import NodeOut

router = APIRouter(prefix="/api/nodes", tags=["nodes"], responses=AUTHENTICATED_ERRORS)


@router.get("", summary="Nodes hosting servers, with their state (administrators)")
async def list_nodes(_admin: AdminPrincipal, session: SessionDep, platform: PlatformDep) -> list[NodeOut]:
    return await service.list_nodes(session, platform.settings.nodes)
