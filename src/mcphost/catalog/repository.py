"""All SQL of the catalog."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.models import CatalogEntry


class CatalogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def search(self, query: str | None, *, limit: int) -> list[CatalogEntry]:
        statement = sa.select(CatalogEntry).where(CatalogEntry.is_latest.is_(True))
        if query:
            pattern = query.lower()
            statement = statement.where(
                sa.or_(
                    sa.func.lower(CatalogEntry.name).contains(pattern, autoescape=True),
                    sa.func.lower(sa.func.coalesce(CatalogEntry.title, "")).contains(pattern, autoescape=True),
                    sa.func.lower(CatalogEntry.description).contains(pattern, autoescape=True),
                )
            )
        rows = await self.session.scalars(statement.order_by(CatalogEntry.name).limit(limit))
        return list(rows.all())

    async def get(self, name: str, version: str | None = None) -> CatalogEntry | None:
        statement = sa.select(CatalogEntry).where(CatalogEntry.name == name)
        statement = statement.where(CatalogEntry.version == version if version else CatalogEntry.is_latest.is_(True))
        return await self.session.scalar(statement)

    async def versions(self, name: str) -> list[CatalogEntry]:
        rows = await self.session.scalars(sa.select(CatalogEntry).where(CatalogEntry.name == name))
        return list(rows.all())

    async def add(self, entry: CatalogEntry) -> CatalogEntry:
        self.session.add(entry)
        await self.session.flush()
        return entry
