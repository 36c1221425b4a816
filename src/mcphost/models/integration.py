"""A service attached to a server (its own PostgreSQL database, Redis key prefix or S3 bucket, on the platform's
configured store): what was provisioned, and the variables the server gets, sealed, never returned."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mcphost.db.base import Base, UTCDateTime, utcnow


class AttachedService(Base):
    __tablename__ = "server_services"
    __table_args__ = (sa.UniqueConstraint("server_id", "kind", name="uq_server_services_kind"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    server_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    #: postgres, redis or s3.
    kind: Mapped[str] = mapped_column(sa.String(16))
    #: The database, key prefix or bucket, by name.
    resource: Mapped[str] = mapped_column(sa.String(200))
    #: The login role, ACL user or access key id the server uses.
    username: Mapped[str] = mapped_column(sa.String(200))
    #: The names of the variables the server gets (shown), and their values sealed as one JSON object (never shown).
    env_names: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    env_sealed: Mapped[str] = mapped_column(sa.Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
