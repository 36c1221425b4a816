"""Durable jobs: the database-backed queue that deploys, builds and other long work run through."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mcphost.db.base import Base, IdMixin, TimestampMixin, utcnow
from mcphost.models._types import enum_column


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DEAD = "dead"
    CANCELLED = "cancelled"


class Job(IdMixin, TimestampMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_claimable", "queue", "status", "run_after"),)

    kind: Mapped[str] = mapped_column(sa.String(100), index=True)
    # Work that must run in one particular process (e.g. "node:<name>", which hosts local processes) has its
    # own queue; everything else is on "default" and any worker may run it.
    queue: Mapped[str] = mapped_column(sa.String(200), default="default")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[JobStatus] = mapped_column(enum_column(JobStatus), default=JobStatus.QUEUED)
    priority: Mapped[int] = mapped_column(default=0)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True, default=None)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    last_error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
