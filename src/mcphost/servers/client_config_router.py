"""The client configuration endpoint: how to connect Claude, VS Code, Cursor or the Python SDK to a server."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from mcphost.api.deps import PlatformDep, ReadPrincipal, SessionDep
from mcphost.api.schemas import AUTHENTICATED_ERRORS, error_responses
from mcphost.errors import BadRequest
from mcphost.servers import service
from mcphost.servers.client_config import ClientConfigOut, client_config

router = APIRouter(prefix="/api/servers", tags=["servers"], responses=AUTHENTICATED_ERRORS)


@router.get(
    "/{server_id}/client-config",
    responses=error_responses(400),
    summary="The endpoint and ready-to-paste client configuration (with a placeholder for the key)",
)
async def get_client_config(
    server_id: uuid.UUID, request: Request, principal: ReadPrincipal, session: SessionDep, platform: PlatformDep
) -> ClientConfigOut:
    if "key" in request.query_params:
        # Keys never travel in URLs (they end up in logs and histories); the snippets carry a placeholder.
        raise BadRequest(
            "Access keys are not accepted in URLs; the configuration uses a placeholder.", code="key_in_url"
        )
    server = await service.get_visible(session, principal, server_id)
    return client_config(platform.settings.effective_public_url, server.id, server.slug)
