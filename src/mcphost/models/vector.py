"""Managed vector databases (each a supervised Chroma server) and the ingestion jobs that fill them.

A vector database belongs to a user or to an organisation, like a server. Its Chroma token is sealed with the
instance key; its port and process id are what the supervisor last started (or adopted after a restart)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mcphost.db.base import Base, IdMixin, JSONType, TimestampMixin
from mcphost.models._types import enum_column


class VectorDbStatus(enum.StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    #: Crashed or failed to start; the supervisor restarts it after a backoff (``last_error`` says why).
    FAILED = "failed"


class VectorDatabase(IdMixin, TimestampMixin, Base):
    __tablename__ = "vector_databases"

    name: Mapped[str] = mapped_column(sa.String(100))
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True, default=None
    )
    org_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True, default=None
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), default=None)
    #: The node whose supervisor runs it.
    node: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[VectorDbStatus] = mapped_column(enum_column(VectorDbStatus), default=VectorDbStatus.STARTING)
    #: Sealed Chroma token (``vector-db:{id}:token`` context); never returned.
    token: Mapped[str] = mapped_column(sa.Text)
    port: Mapped[int | None] = mapped_column(default=None)
    pid: Mapped[int | None] = mapped_column(default=None)
    restarts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    #: The hosted server that answers searches of this database over MCP, once published.
    server_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("servers.id", ondelete="SET NULL"), default=None, index=True
    )
    #: The collection that server searches.
    published_collection: Mapped[str | None] = mapped_column(sa.String(63), default=None)


class IngestionStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    #: Some documents were stored, others failed (each failure in ``errors``).
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self not in (IngestionStatus.QUEUED, IngestionStatus.RUNNING)


class IngestionJob(IdMixin, TimestampMixin, Base):
    __tablename__ = "ingestion_jobs"

    vector_db_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("vector_databases.id", ondelete="CASCADE"))
    collection: Mapped[str] = mapped_column(sa.String(63))
    #: Whoever created it (what they may read is checked when it is created and when it runs).
    owner_user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: The validated sources: ``{"type": "server_files"|"upload"|"git"|"url", ...}``.
    sources: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    chunk_size: Mapped[int] = mapped_column()
    chunk_overlap: Mapped[int] = mapped_column()
    status: Mapped[IngestionStatus] = mapped_column(enum_column(IngestionStatus), default=IngestionStatus.QUEUED)
    #: documents_total, documents_done, documents_failed, chunks, bytes.
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: One entry per failed document: ``{"document": ..., "error": ...}``.
    errors: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    #: The durable queue job that runs it.
    job_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
