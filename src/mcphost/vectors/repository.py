"""All SQL of vector databases: scoped to what a principal may see (their own, their organisations')."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.models import Membership, VectorDatabase


def visible_to(principal: Principal) -> sa.ColumnElement[bool]:
    if principal.is_admin:
        return sa.true()
    member_of = sa.select(Membership.org_id).where(Membership.user_id == principal.user_id)
    return sa.or_(VectorDatabase.owner_user_id == principal.user_id, VectorDatabase.org_id.in_(member_of))


class VectorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: VectorDatabase) -> VectorDatabase:
        self.session.add(row)
        await self.session.flush()
        return row

    async def visible(self, principal: Principal, vector_db_id: uuid.UUID) -> VectorDatabase | None:
        statement = sa.select(VectorDatabase).where(VectorDatabase.id == vector_db_id, visible_to(principal))
        return await self.session.scalar(statement)

    async def list_visible(self, principal: Principal) -> list[VectorDatabase]:
        statement = sa.select(VectorDatabase).where(visible_to(principal)).order_by(VectorDatabase.created_at)
        return list(await self.session.scalars(statement))

    async def count_owned(self, *, user_id: uuid.UUID | None = None, org_id: uuid.UUID | None = None) -> int:
        column = VectorDatabase.owner_user_id if user_id is not None else VectorDatabase.org_id
        statement = sa.select(sa.func.count()).select_from(VectorDatabase).where(column == (user_id or org_id))
        return int(await self.session.scalar(statement) or 0)

    async def delete(self, row: VectorDatabase) -> None:
        await self.session.delete(row)
        await self.session.flush()
