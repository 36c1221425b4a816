"""All SQL of servers and their access keys. Every read is scoped to what the principal may see."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.db.pagination import paginate
from mcphost.models import Membership, Server, ServerAccessKey, User


def visible_to(principal: Principal) -> sa.ColumnElement[bool]:
    """Servers the principal owns or that belong to an org it is a member of; everything for admins."""
    if principal.is_admin:
        return sa.true()
    member_of = sa.select(Membership.org_id).where(Membership.user_id == principal.user_id)
    return sa.or_(Server.owner_user_id == principal.user_id, Server.org_id.in_(member_of))


class ServerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, server: Server) -> Server:
        self.session.add(server)
        await self.session.flush()
        return server

    async def visible(self, principal: Principal, server_id: uuid.UUID, *, for_update: bool = False) -> Server | None:
        statement = sa.select(Server).where(Server.id == server_id, visible_to(principal))
        return await self.session.scalar(statement.with_for_update() if for_update else statement)

    async def get(self, server_id: uuid.UUID, *, for_update: bool = False) -> Server | None:
        statement = sa.select(Server).where(Server.id == server_id)
        return await self.session.scalar(statement.with_for_update() if for_update else statement)

    async def page(
        self, principal: Principal, *, org_id: uuid.UUID | None, limit: int, cursor: str | None
    ) -> tuple[list[Server], str | None]:
        statement = sa.select(Server).where(visible_to(principal))
        if org_id is not None:
            statement = statement.where(Server.org_id == org_id)
        return await paginate(
            self.session, statement, created_at=Server.created_at, row_id=Server.id, limit=limit, cursor=cursor
        )

    async def slug_taken(self, slug: str) -> bool:
        return await self.session.scalar(sa.select(Server.id).where(Server.slug == slug)) is not None

    async def count_owned(self, *, user_id: uuid.UUID | None = None, org_id: uuid.UUID | None = None) -> int:
        owner = Server.owner_user_id == user_id if user_id is not None else Server.org_id == org_id
        return int(await self.session.scalar(sa.select(sa.func.count()).where(owner)) or 0)

    async def owned(
        self, *, user_id: uuid.UUID | None = None, org_id: uuid.UUID | None = None, for_update: bool = False
    ) -> list[Server]:
        """Every server of one owner (a user personally, or an organisation), oldest first."""
        owner = Server.owner_user_id == user_id if user_id is not None else Server.org_id == org_id
        statement = sa.select(Server).where(owner).order_by(Server.created_at, Server.id)
        return list((await self.session.scalars(statement.with_for_update() if for_update else statement)).all())

    async def delete(self, server: Server) -> None:
        await self.session.delete(server)
        await self.session.flush()


class AccessKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, key: ServerAccessKey) -> ServerAccessKey:
        self.session.add(key)
        await self.session.flush()
        return key

    async def list_for(self, server_id: uuid.UUID) -> list[ServerAccessKey]:
        rows = await self.session.scalars(
            sa.select(ServerAccessKey)
            .where(ServerAccessKey.server_id == server_id)
            .order_by(ServerAccessKey.created_at.desc())
        )
        return list(rows.all())

    async def list_with_creators(self, server_id: uuid.UUID) -> list[tuple[ServerAccessKey, User | None]]:
        """The server's keys, newest first, each with the account that created it (None once deleted)."""
        rows = await self.session.execute(
            sa.select(ServerAccessKey, User)
            .outerjoin(User, User.id == ServerAccessKey.created_by)
            .where(ServerAccessKey.server_id == server_id)
            .order_by(ServerAccessKey.created_at.desc())
        )
        return [(key, creator) for key, creator in rows]

    async def by_hash(self, server_id: uuid.UUID, key_hash: str) -> ServerAccessKey | None:
        return await self.session.scalar(
            sa.select(ServerAccessKey).where(
                ServerAccessKey.server_id == server_id, ServerAccessKey.key_hash == key_hash
            )
        )

    async def get(self, server_id: uuid.UUID, key_id: uuid.UUID) -> ServerAccessKey | None:
        return await self.session.scalar(
            sa.select(ServerAccessKey).where(ServerAccessKey.server_id == server_id, ServerAccessKey.id == key_id)
        )

    async def count_active(self, server_id: uuid.UUID) -> int:
        statement = sa.select(sa.func.count()).where(
            ServerAccessKey.server_id == server_id, ServerAccessKey.revoked_at.is_(None)
        )
        return int(await self.session.scalar(statement) or 0)
