"""What a server did: its log lines and its usage events."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mcphost.db.base import Base, utcnow
from mcphost.models._types import enum_column

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class LogStream(enum.StrEnum):
    STDERR = "stderr"
    STDOUT = "stdout"
    PLATFORM = "platform"


class ServerLog(Base):
    __tablename__ = "server_logs"
    __table_args__ = (sa.Index("ix_server_logs_server_id_id", "server_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    server_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("servers.id", ondelete="CASCADE"))
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    stream: Mapped[LogStream] = mapped_column(enum_column(LogStream))
    line: Mapped[str] = mapped_column(sa.Text)


class UsageEvent(Base):
    __tablename__ = "usage_events"
    __table_args__ = (sa.Index("ix_usage_events_server_id_ts", "server_id", "ts"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    server_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("servers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
