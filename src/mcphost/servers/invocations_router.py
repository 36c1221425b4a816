"""Endpoints of a server's invocation records: every request the gateway relayed to it, newest first."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query

from mcphost.api.deps import ReadPrincipal, SessionDep
from mcphost.api.schemas import AUTHENTICATED_ERRORS, Page
from mcphost.db.pagination import MAX_LIMIT
from mcphost.errors import NotFound
from mcphost.servers import invocations, service
from mcphost.servers.invocation_schemas import InvocationDetail, InvocationOut, InvocationStatus

router = APIRouter(prefix="/api/servers/{server_id}/invocations", tags=["servers"], responses=AUTHENTICATED_ERRORS)


@router.get("", summary="Requests relayed to the server and their answers, newest first")
async def list_invocations(
    server_id: uuid.UUID,
    principal: ReadPrincipal,
    session: SessionDep,
    method: Annotated[str | None, Query(max_length=100, description="Only this JSON-RPC method.")] = None,
    tool: Annotated[str | None, Query(max_length=500, description="Only tools/call of this tool.")] = None,
    status: Annotated[InvocationStatus | None, Query(description="Only ok or only error answers.")] = None,
    session_id: Annotated[
        str | None, Query(alias="session", max_length=100, description="Only this MCP session.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[InvocationOut]:
    await service.get_visible(session, principal, server_id)
    where = invocations.InvocationFilter(method=method, tool=tool, status=status, session_id=session_id)
    rows, next_cursor = await invocations.page(session, server_id, where, limit=limit, cursor=cursor)
    return Page[InvocationOut](items=[InvocationOut.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/{invocation_id}", summary="One invocation record, with its params and result")
async def get_invocation(
    server_id: uuid.UUID,
    invocation_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    principal: ReadPrincipal,
    session: SessionDep,
) -> InvocationDetail:
    await service.get_visible(session, principal, server_id)
    record = await invocations.get(session, server_id, invocation_id)
    if record is None:
        raise NotFound("No invocation record with this id for this server (records are purged after a while).")
    return InvocationDetail.model_validate(record)
