"""Catalog entries: servers users can deploy, kept as official MCP registry ``server.json`` documents."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mcphost.db.base import Base, IdMixin, TimestampMixin


class CatalogEntry(IdMixin, TimestampMixin, Base):
    __tablename__ = "catalog_entries"
    __table_args__ = (sa.UniqueConstraint("name", "version"),)

    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    version: Mapped[str] = mapped_column(sa.String(100))
    title: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    description: Mapped[str] = mapped_column(sa.Text)
    document: Mapped[dict[str, Any]] = mapped_column()
    is_latest: Mapped[bool] = mapped_column(default=True)
    builtin: Mapped[bool] = mapped_column(default=False)
