"""All SQL of organisations, memberships and invitations."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.models import Invitation, Membership, Organization, OrgRole, User


class OrgRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, org: Organization) -> Organization:
        self.session.add(org)
        await self.session.flush()
        return org

    async def get(self, org_id: uuid.UUID, *, for_update: bool = False) -> Organization | None:
        statement = sa.select(Organization).where(Organization.id == org_id)
        if for_update:
            statement = statement.with_for_update()
        return await self.session.scalar(statement)

    async def slug_taken(self, slug: str) -> bool:
        return await self.session.scalar(sa.select(Organization.id).where(Organization.slug == slug)) is not None

    async def visible_to(self, user_id: uuid.UUID, *, everything: bool) -> list[tuple[Organization, OrgRole | None]]:
        """The orgs a user is a member of (with their role), or every org for an administrator."""
        membership = sa.and_(Membership.org_id == Organization.id, Membership.user_id == user_id)
        statement = sa.select(Organization, Membership.role).order_by(Organization.name, Organization.id)
        statement = (
            statement.outerjoin(Membership, membership) if everything else statement.join(Membership, membership)
        )
        rows = await self.session.execute(statement)
        return [(org, role) for org, role in rows]

    async def role_of(self, org_id: uuid.UUID, user_id: uuid.UUID) -> OrgRole | None:
        return await self.session.scalar(
            sa.select(Membership.role).where(Membership.org_id == org_id, Membership.user_id == user_id)
        )

    async def roles_of(self, org_id: uuid.UUID, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, OrgRole]:
        """The roles of these users in the organisation (members only), in one query."""
        if not user_ids:
            return {}
        rows = await self.session.execute(
            sa.select(Membership.user_id, Membership.role).where(
                Membership.org_id == org_id, Membership.user_id.in_(user_ids)
            )
        )
        return {user_id: role for user_id, role in rows}

    async def org_ids_of(self, user_id: uuid.UUID) -> set[uuid.UUID]:
        rows = await self.session.scalars(sa.select(Membership.org_id).where(Membership.user_id == user_id))
        return set(rows.all())

    async def members(self, org_id: uuid.UUID) -> list[tuple[Membership, User]]:
        rows = await self.session.execute(
            sa.select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.org_id == org_id)
            .order_by(Membership.created_at, User.email)
        )
        return [(membership, user) for membership, user in rows]

    async def member_counts(self, org_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        """How many members each of these organisations has, in one query."""
        if not org_ids:
            return {}
        rows = await self.session.execute(
            sa.select(Membership.org_id, sa.func.count())
            .where(Membership.org_id.in_(org_ids))
            .group_by(Membership.org_id)
        )
        return {org_id: int(count) for org_id, count in rows}

    async def membership(self, org_id: uuid.UUID, user_id: uuid.UUID) -> tuple[Membership, User] | None:
        row = await self.session.execute(
            sa.select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.org_id == org_id, Membership.user_id == user_id)
            .with_for_update(of=Membership)
        )
        found = row.first()
        return (found[0], found[1]) if found else None

    async def add_member(self, org_id: uuid.UUID, user_id: uuid.UUID, role: OrgRole) -> Membership:
        membership = Membership(org_id=org_id, user_id=user_id, role=role)
        self.session.add(membership)
        await self.session.flush()
        return membership

    async def remove_member(self, membership: Membership) -> None:
        await self.session.delete(membership)
        await self.session.flush()

    async def solely_owned_by(self, user_id: uuid.UUID) -> list[Organization]:
        """The organisations of which this user is the only owner."""
        owners = (
            sa.select(Membership.org_id)
            .where(Membership.role == OrgRole.OWNER)
            .group_by(Membership.org_id)
            .having(sa.func.count() == 1)
        )
        rows = await self.session.scalars(
            sa.select(Organization)
            .join(Membership, Membership.org_id == Organization.id)
            .where(Membership.user_id == user_id, Membership.role == OrgRole.OWNER, Organization.id.in_(owners))
            .order_by(Organization.name)
        )
        return list(rows.all())

    async def count_owners(self, org_id: uuid.UUID) -> int:
        statement = sa.select(sa.func.count()).where(Membership.org_id == org_id, Membership.role == OrgRole.OWNER)
        return int(await self.session.scalar(statement) or 0)

    async def invitations(self, org_id: uuid.UUID, *, now: datetime) -> list[Invitation]:
        rows = await self.session.scalars(
            sa.select(Invitation)
            .where(Invitation.org_id == org_id, Invitation.expires_at > now)
            .order_by(Invitation.created_at)
        )
        return list(rows.all())

    async def invitation(self, org_id: uuid.UUID, invitation_id: uuid.UUID) -> Invitation | None:
        return await self.session.scalar(
            sa.select(Invitation).where(Invitation.org_id == org_id, Invitation.id == invitation_id)
        )

    async def invitation_for(self, org_id: uuid.UUID, email: str) -> Invitation | None:
        return await self.session.scalar(
            sa.select(Invitation).where(Invitation.org_id == org_id, Invitation.email == email)
        )

    async def invitations_for_email(self, email: str, *, now: datetime) -> list[Invitation]:
        rows = await self.session.scalars(
            sa.select(Invitation).where(Invitation.email == email, Invitation.expires_at > now)
        )
        return list(rows.all())

    async def add_invitation(self, invitation: Invitation) -> Invitation:
        self.session.add(invitation)
        await self.session.flush()
        return invitation

    async def delete_invitation(self, invitation: Invitation) -> None:
        await self.session.delete(invitation)
        await self.session.flush()

    async def delete(self, org: Organization) -> None:
        await self.session.delete(org)
        await self.session.flush()
