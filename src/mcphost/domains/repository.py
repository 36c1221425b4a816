"""All SQL of custom domains. Callers check that the principal may see the server first; the lookups by name alone
serve the proxy (verification files, resource metadata) and the Caddy sync, which act for the platform."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.models import CustomDomain, DomainStatus, Server


class DomainRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_server(self, server_id: uuid.UUID) -> list[CustomDomain]:
        statement = sa.select(CustomDomain).where(CustomDomain.server_id == server_id).order_by(CustomDomain.name)
        return list((await self.session.scalars(statement)).all())

    async def get(self, server_id: uuid.UUID, name: str, *, for_update: bool = False) -> CustomDomain | None:
        statement = sa.select(CustomDomain).where(CustomDomain.server_id == server_id, CustomDomain.name == name)
        if for_update:
            statement = statement.with_for_update()
        return await self.session.scalar(statement)

    async def verified_elsewhere(self, name: str, server_id: uuid.UUID) -> bool:
        """Whether another server has verified this name."""
        statement = sa.select(CustomDomain.id).where(
            CustomDomain.name == name,
            CustomDomain.status == DomainStatus.VERIFIED,
            CustomDomain.server_id != server_id,
        )
        return (await self.session.scalar(statement.limit(1))) is not None

    async def claimed_elsewhere(self, name: str, server_id: uuid.UUID) -> bool:
        """Whether another server claims this name too (verified or not)."""
        statement = sa.select(CustomDomain.id).where(CustomDomain.name == name, CustomDomain.server_id != server_id)
        return (await self.session.scalar(statement.limit(1))) is not None

    async def pending_with_token(self, name: str, token: str) -> CustomDomain | None:
        statement = sa.select(CustomDomain).where(
            CustomDomain.name == name,
            CustomDomain.token == token,
            CustomDomain.status == DomainStatus.PENDING_VERIFICATION,
        )
        return await self.session.scalar(statement)

    async def verified_with_slug(self, name: str) -> tuple[CustomDomain, str] | None:
        statement = (
            sa.select(CustomDomain, Server.slug)
            .join(Server, Server.id == CustomDomain.server_id)
            .where(CustomDomain.name == name, CustomDomain.status == DomainStatus.VERIFIED)
        )
        row = (await self.session.execute(statement)).first()
        return (row[0], row[1]) if row is not None else None

    async def all_verified(self) -> list[tuple[CustomDomain, str]]:
        """Every verified domain and its server's slug, by name: what Caddy serves."""
        statement = (
            sa.select(CustomDomain, Server.slug)
            .join(Server, Server.id == CustomDomain.server_id)
            .where(CustomDomain.status == DomainStatus.VERIFIED)
            .order_by(CustomDomain.name)
        )
        return [(row[0], row[1]) for row in (await self.session.execute(statement)).all()]

    async def add(self, domain: CustomDomain) -> CustomDomain:
        self.session.add(domain)
        await self.session.flush()
        return domain

    async def delete(self, domain: CustomDomain) -> None:
        await self.session.delete(domain)
        await self.session.flush()
