"""Endpoints of organisations, their members and invitations."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from mcphost.api.deps import PlatformDep, ReadPrincipal, SessionDep, WritePrincipal
from mcphost.api.schemas import AUTHENTICATED_ERRORS, error_responses
from mcphost.orgs import service
from mcphost.orgs.schemas import (
    MemberAdd,
    MemberAddResult,
    MemberOut,
    MembersOut,
    MemberUpdate,
    OrgCreate,
    OrgOut,
    OrgUpdate,
)

router = APIRouter(prefix="/api/orgs", tags=["orgs"], responses=AUTHENTICATED_ERRORS)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create an organisation (you become its owner)")
async def create_org(body: OrgCreate, principal: WritePrincipal, session: SessionDep, platform: PlatformDep) -> OrgOut:
    return await service.create_org(session, platform.settings.auth, principal, body.name)


@router.get("", summary="Your organisations (administrators: all)")
async def list_orgs(principal: ReadPrincipal, session: SessionDep) -> list[OrgOut]:
    return await service.list_orgs(session, principal)


@router.get("/{org_id}", summary="One organisation")
async def get_org(org_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> OrgOut:
    return await service.get_org(session, principal, org_id)


@router.patch("/{org_id}", summary="Rename (org admins) or change the quota (platform administrators)")
async def update_org(org_id: uuid.UUID, body: OrgUpdate, principal: WritePrincipal, session: SessionDep) -> OrgOut:
    return await service.update_org(session, principal, org_id, body)


@router.delete(
    "/{org_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(409),
    summary="Delete (owners); refused while it has servers unless delete_servers=true",
)
async def delete_org(
    org_id: uuid.UUID,
    principal: WritePrincipal,
    session: SessionDep,
    delete_servers: Annotated[
        bool,
        Query(
            description="Also stop and delete the organisation's servers (each as deleting a server does). "
            "Without it, an organisation that has servers is not deleted (409 org_has_servers)."
        ),
    ] = False,
) -> None:
    await service.delete_org(session, principal, org_id, delete_servers=delete_servers)


@router.get("/{org_id}/members", summary="Members and pending invitations")
async def list_members(org_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> MembersOut:
    return await service.list_members(session, principal, org_id)


@router.post(
    "/{org_id}/members",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409),
    summary="Add a member by email, or invite an email without an account",
)
async def add_member(
    org_id: uuid.UUID, body: MemberAdd, principal: WritePrincipal, session: SessionDep
) -> MemberAddResult:
    return await service.add_member(session, principal, org_id, body)


@router.patch("/{org_id}/members/{user_id}", responses=error_responses(409), summary="Change a member's role")
async def update_member(
    org_id: uuid.UUID, user_id: uuid.UUID, body: MemberUpdate, principal: WritePrincipal, session: SessionDep
) -> MemberOut:
    return await service.update_member(session, principal, org_id, user_id, body.role)


@router.delete(
    "/{org_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(409),
    summary="Remove a member, or leave",
)
async def remove_member(org_id: uuid.UUID, user_id: uuid.UUID, principal: WritePrincipal, session: SessionDep) -> None:
    await service.remove_member(session, principal, org_id, user_id)


@router.delete(
    "/{org_id}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Withdraw an invitation",
)
async def revoke_invitation(
    org_id: uuid.UUID, invitation_id: uuid.UUID, principal: WritePrincipal, session: SessionDep
) -> None:
    await service.revoke_invitation(session, principal, org_id, invitation_id)
