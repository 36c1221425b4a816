"""Client sessions of the gateway that any replica may continue (ADR 0015): sessions of servers relayed over HTTP,
kept so that a replica that has not seen a session id loads it instead of answering 404. The id itself is not
stored, only its SHA-256."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mcphost.db.base import Base, utcnow


class GatewaySession(Base):
    __tablename__ = "gateway_sessions"

    id_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    server_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    #: ``key:<id>`` or ``user:<id>``: the session is bound to the credential that opened it.
    principal: Mapped[str] = mapped_column(sa.String(100))
    protocol_version: Mapped[str] = mapped_column(sa.String(32))
    client_capabilities: Mapped[dict[str, Any]] = mapped_column(default=dict)
    client_info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    idle_seconds: Mapped[float] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Renewed (in batches, off the request path) while the session is used; then it is forgotten.
    expires_at: Mapped[datetime] = mapped_column(index=True)
