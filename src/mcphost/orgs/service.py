"""Rules of organisations: creation, members and their roles, invitations."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.accounts.quotas import quota_lock
from mcphost.accounts.repository import UserRepository
from mcphost.db.base import utcnow
from mcphost.db.locks import advisory_xact_lock
from mcphost.db.session import queue_after_commit
from mcphost.errors import Conflict, Forbidden, NotFound
from mcphost.events import Event
from mcphost.models import Invitation, Membership, Organization, OrgRole, User
from mcphost.orgs.access import require_org_role
from mcphost.orgs.repository import OrgRepository
from mcphost.orgs.schemas import (
    InvitationOut,
    MemberAdd,
    MemberAddResult,
    MemberOut,
    MembersOut,
    OrgOut,
    OrgUpdate,
)
from mcphost.servers.repository import ServerRepository
from mcphost.servers.service import remove_servers_of
from mcphost.settings import AuthSettings

INVITATION_TTL = timedelta(days=14)


def _slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:100]
    return slug or "org"


def org_out(org: Organization, role: OrgRole | None) -> OrgOut:
    return OrgOut.model_validate(org).model_copy(update={"role": role})


def member_out(membership: Membership, user: User) -> MemberOut:
    return MemberOut(user_id=user.id, email=user.email, role=membership.role, joined_at=membership.created_at)


def _event(kind: str, org_id: uuid.UUID, data: dict[str, object], user_id: uuid.UUID | None = None) -> Event:
    return Event(kind, {"org_id": str(org_id), **data}, org_id=org_id, user_id=user_id)


async def create_org(session: AsyncSession, auth: AuthSettings, principal: Principal, name: str) -> OrgOut:
    repository = OrgRepository(session)
    slug = _slugify(name)
    while await repository.slug_taken(slug):
        slug = f"{_slugify(name)[:90]}-{secrets.token_hex(3)}"
    org = await repository.add(
        Organization(name=name, slug=slug, server_quota=auth.default_org_server_quota, created_by=principal.user_id)
    )
    await repository.add_member(org.id, principal.user_id, OrgRole.OWNER)
    queue_after_commit(session, _event("org.created", org.id, {"name": org.name}, principal.user_id))
    return org_out(org, OrgRole.OWNER)


async def list_orgs(session: AsyncSession, principal: Principal) -> list[OrgOut]:
    rows = await OrgRepository(session).visible_to(principal.user_id, everything=principal.is_admin)
    return [org_out(org, role) for org, role in rows]


async def member_counts(session: AsyncSession, orgs: list[OrgOut]) -> dict[uuid.UUID, int]:
    """The number of members of each of these (already visible) organisations."""
    return await OrgRepository(session).member_counts([org.id for org in orgs])


async def get_org(session: AsyncSession, principal: Principal, org_id: uuid.UUID) -> OrgOut:
    org, role = await require_org_role(session, principal, org_id, OrgRole.VIEWER)
    return org_out(org, role)


async def update_org(session: AsyncSession, principal: Principal, org_id: uuid.UUID, changes: OrgUpdate) -> OrgOut:
    org, role = await require_org_role(session, principal, org_id, OrgRole.ADMIN, for_update=True)
    if changes.server_quota is not None and changes.server_quota != org.server_quota:
        if not principal.is_admin:
            raise Forbidden("Only platform administrators change an organisation's quota.", code="admin_required")
        org.server_quota = changes.server_quota
    if changes.name is not None:
        org.name = changes.name
    await session.flush()
    queue_after_commit(session, _event("org.updated", org.id, {"name": org.name}))
    return org_out(org, role)


async def delete_org(
    session: AsyncSession, principal: Principal, org_id: uuid.UUID, *, delete_servers: bool = False
) -> int:
    """Delete an organisation (owners). While it has servers this is refused (409 ``org_has_servers``) unless
    ``delete_servers``: then each is stopped and deleted the way deleting a server does it, first. Returns how
    many servers went."""
    org, _ = await require_org_role(session, principal, org_id, OrgRole.OWNER, for_update=True)
    # The quota lock: no server is created in the organisation while it is being deleted.
    await advisory_xact_lock(session, quota_lock(org_id))
    count = await ServerRepository(session).count_owned(org_id=org_id)
    if count and not delete_servers:
        raise Conflict(
            f"{org.name} still has {servers_phrase(count)}. Delete {'it' if count == 1 else 'them'} first, or "
            "delete the organisation together with its servers (API: DELETE /api/orgs/{id}?delete_servers=true; "
            "CLI: mcphost orgs delete ORG --delete-servers).",
            code="org_has_servers",
            details={"servers": count},
        )
    removed = await remove_servers_of(session, org_id=org_id)
    await OrgRepository(session).delete(org)
    queue_after_commit(session, _event("org.deleted", org_id, {"name": org.name, "servers_deleted": removed}))
    return removed


async def server_count(session: AsyncSession, org_id: uuid.UUID) -> int:
    """How many servers an (already visible) organisation owns."""
    return await ServerRepository(session).count_owned(org_id=org_id)


def servers_phrase(count: int) -> str:
    return f"{count} server{'' if count == 1 else 's'}"


async def list_members(session: AsyncSession, principal: Principal, org_id: uuid.UUID) -> MembersOut:
    await require_org_role(session, principal, org_id, OrgRole.VIEWER)
    repository = OrgRepository(session)
    members = [member_out(membership, user) for membership, user in await repository.members(org_id)]
    invitations = [InvitationOut.model_validate(i) for i in await repository.invitations(org_id, now=utcnow())]
    return MembersOut(members=members, invitations=invitations)


def _may_grant(principal: Principal, caller_role: OrgRole | None, role: OrgRole) -> None:
    if role is OrgRole.OWNER and caller_role is not OrgRole.OWNER and not principal.is_admin:
        raise Forbidden("Only owners can make someone an owner.", code="insufficient_role")


async def add_member(
    session: AsyncSession, principal: Principal, org_id: uuid.UUID, data: MemberAdd
) -> MemberAddResult:
    """Add the account with this email, or invite the email if it has no account yet."""
    _, caller_role = await require_org_role(session, principal, org_id, OrgRole.ADMIN, for_update=True)
    _may_grant(principal, caller_role, data.role)
    repository = OrgRepository(session)
    user = await UserRepository(session).by_email(data.email)
    if user is not None:
        if await repository.role_of(org_id, user.id) is not None:
            raise Conflict(f"{data.email} is already a member; change their role instead.", code="already_member")
        membership = await repository.add_member(org_id, user.id, data.role)
        queue_after_commit(
            session,
            _event("org.member.added", org_id, {"user_id": str(user.id), "role": data.role.value}, user.id),
        )
        return MemberAddResult(status="added", member=member_out(membership, user))
    invitation = await repository.invitation_for(org_id, data.email)
    if invitation is None:
        invitation = await repository.add_invitation(
            Invitation(
                org_id=org_id,
                email=data.email,
                role=data.role,
                invited_by=principal.user_id,
                expires_at=utcnow() + INVITATION_TTL,
            )
        )
    else:
        invitation.role, invitation.expires_at = data.role, utcnow() + INVITATION_TTL
        await session.flush()
    queue_after_commit(session, _event("org.invitation.created", org_id, {"email": data.email}))
    return MemberAddResult(status="invited", invitation=InvitationOut.model_validate(invitation))


async def _target(session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID) -> tuple[Membership, User]:
    found = await OrgRepository(session).membership(org_id, user_id)
    if found is None:
        raise NotFound("This user is not a member of the organisation.")
    return found


async def _ensure_owner_remains(session: AsyncSession, membership: Membership) -> None:
    if membership.role is OrgRole.OWNER and await OrgRepository(session).count_owners(membership.org_id) <= 1:
        raise Conflict("An organisation needs an owner; make someone else owner first.", code="last_owner")


async def update_member(
    session: AsyncSession, principal: Principal, org_id: uuid.UUID, user_id: uuid.UUID, role: OrgRole
) -> MemberOut:
    _, caller_role = await require_org_role(session, principal, org_id, OrgRole.ADMIN, for_update=True)
    membership, user = await _target(session, org_id, user_id)
    if membership.role is OrgRole.OWNER or role is OrgRole.OWNER:
        _may_grant(principal, caller_role, OrgRole.OWNER)
    if role is not OrgRole.OWNER:
        await _ensure_owner_remains(session, membership)
    membership.role = role
    await session.flush()
    queue_after_commit(
        session, _event("org.member.updated", org_id, {"user_id": str(user_id), "role": role.value}, user_id)
    )
    return member_out(membership, user)


async def remove_member(session: AsyncSession, principal: Principal, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Admins remove members (owners only by owners); any member may leave."""
    leaving = user_id == principal.user_id
    minimum = OrgRole.VIEWER if leaving else OrgRole.ADMIN
    _, caller_role = await require_org_role(session, principal, org_id, minimum, for_update=True)
    membership, _ = await _target(session, org_id, user_id)
    if membership.role is OrgRole.OWNER and not leaving:
        _may_grant(principal, caller_role, OrgRole.OWNER)
    await _ensure_owner_remains(session, membership)
    await OrgRepository(session).remove_member(membership)
    queue_after_commit(session, _event("org.member.removed", org_id, {"user_id": str(user_id)}, user_id))


async def revoke_invitation(
    session: AsyncSession, principal: Principal, org_id: uuid.UUID, invitation_id: uuid.UUID
) -> None:
    await require_org_role(session, principal, org_id, OrgRole.ADMIN)
    repository = OrgRepository(session)
    invitation = await repository.invitation(org_id, invitation_id)
    if invitation is None:
        raise NotFound("No invitation with this id in the organisation.")
    await repository.delete_invitation(invitation)
