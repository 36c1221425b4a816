"""Endpoints of revisions: list, read, roll back."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from mcphost.api.deps import PlatformDep, ReadPrincipal, SessionDep, WritePrincipal
from mcphost.api.schemas import AUTHENTICATED_ERRORS, Page, error_responses
from mcphost.db.pagination import MAX_LIMIT
from mcphost.models import Server, ServerRevision, User
from mcphost.revisions import service
from mcphost.revisions.schemas import RevisionOut, RevisionSettings, RollbackOut, RollbackRequest
from mcphost.servers.views import server_out

router = APIRouter(prefix="/api/servers", tags=["revisions"], responses=AUTHENTICATED_ERRORS)
Number = Annotated[int, Path(ge=1, le=2**31 - 1, description="The revision's number (1 is the first deploy).")]


def revision_out(server: Server, revision: ServerRevision, creator: User | None) -> RevisionOut:
    return RevisionOut(
        number=revision.number,
        live=revision.number == server.revision,
        created_at=revision.created_at,
        reason=revision.reason,
        actor=revision.actor,
        created_by=revision.created_by,
        created_by_email=creator.email if creator is not None else None,
        rolled_back_to=revision.rolled_back_to,
        detail=revision.detail,
        source=dict(revision.source),
        settings=RevisionSettings.model_validate(revision.settings),
        resolved=revision.resolved,
        resolved_at=revision.resolved_at,
    )


@router.get("/{server_id}/revisions", summary="The server's revisions (every deploy), newest first")
async def list_revisions(
    server_id: uuid.UUID,
    principal: ReadPrincipal,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[RevisionOut]:
    server, rows, next_cursor = await service.list_revisions(session, principal, server_id, limit=limit, cursor=cursor)
    return Page[RevisionOut](items=[revision_out(server, *row) for row in rows], next_cursor=next_cursor)


@router.get("/{server_id}/revisions/{number}", summary="One revision of the server")
async def get_revision(
    server_id: uuid.UUID, number: Number, principal: ReadPrincipal, session: SessionDep
) -> RevisionOut:
    server, revision, creator = await service.get_revision(session, principal, server_id, number)
    return revision_out(server, revision, creator)


@router.post(
    "/{server_id}/rollback",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(409),
    summary="Deploy an earlier revision's source and settings again (secrets stay as they are); records a new revision",
)
async def rollback(
    server_id: uuid.UUID, body: RollbackRequest, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> RollbackOut:
    server, revision = await service.rollback(session, platform, principal, server_id, body.revision)
    return RollbackOut(
        server=server_out(server, platform.settings.effective_public_url),
        revision=revision_out(server, revision, principal.user),
    )
