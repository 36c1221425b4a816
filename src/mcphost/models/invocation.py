"""Invocation records: one row per JSON-RPC request the gateway relayed to a server, with its answer.

Rows are written in batches by the trace recorder (``observability/traces.py``), never on the request path,
and purged by the maintenance loop (age and a per-server budget)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mcphost.db.base import Base, JSONType
from mcphost.models.server_activity import BigId


class InvocationRecord(Base):
    __tablename__ = "invocations"
    __table_args__ = (
        # Listing a server's records newest first, and the per-server budget, walk this index.
        sa.Index("ix_invocations_server_id_id", "server_id", "id"),
        # Purging by age.
        sa.Index("ix_invocations_ts", "ts"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    server_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("servers.id", ondelete="CASCADE"))
    ts: Mapped[datetime] = mapped_column()
    method: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str | None] = mapped_column(sa.String(500), default=None)
    status: Mapped[str] = mapped_column(sa.String(16))
    error_code: Mapped[int | None] = mapped_column(default=None)
    error_message: Mapped[str | None] = mapped_column(sa.Text, default=None)
    session_id: Mapped[str | None] = mapped_column(sa.String(100), default=None)
    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), default=None)
    key_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("server_access_keys.id", ondelete="SET NULL"), default=None
    )
    request_id: Mapped[str | None] = mapped_column(sa.String(100), default=None)
    params: Mapped[Any | None] = mapped_column(JSONType, default=None)
    result: Mapped[Any | None] = mapped_column(JSONType, default=None)
    duration_ms: Mapped[float] = mapped_column(sa.Float)
    request_bytes: Mapped[int] = mapped_column()
    response_bytes: Mapped[int] = mapped_column()
