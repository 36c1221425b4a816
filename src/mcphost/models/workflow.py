"""Workflows: a definition of steps (each a tool call on a hosted server, with templated arguments), and its runs
with each step's rendered input, output, attempts and timing.

A workflow belongs to one user, whose access to the servers its steps name is checked when it is defined and again
when it runs. A run keeps the definition it ran (``definition``), so editing a workflow never rewrites history."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mcphost.db.base import Base, IdMixin, JSONType, TimestampMixin, utcnow
from mcphost.models._types import enum_column


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class StepStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    #: Not run: a step it depends on failed (or was skipped).
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class Workflow(IdMixin, TimestampMixin, Base):
    __tablename__ = "workflows"

    owner_user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    #: Unique across the platform: the composite tool's endpoint is ``/mcp/workflows/{slug}``.
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    input_schema: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The steps as validated: each with ``id``, ``server_id``, ``tool``, ``arguments``, ``needs`` (explicit and
    #: implied by references), ``timeout_seconds`` and ``retry``.
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    #: A template of the workflow's result; None: the output of its last step (or of each final step).
    output: Mapped[Any] = mapped_column(JSONType, default=None, nullable=True)
    #: Listed as a tool on its own MCP endpoint.
    published: Mapped[bool] = mapped_column(default=False)
    #: Incremented by every change of the definition; a run records the version it ran.
    version: Mapped[int] = mapped_column(default=1)


class WorkflowRun(IdMixin, Base):
    __tablename__ = "workflow_runs"
    __table_args__ = (sa.Index("ix_workflow_runs_workflow_id_created_at", "workflow_id", "created_at"),)

    workflow_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("workflows.id", ondelete="CASCADE"))
    #: The workflow's owner, whose access the steps run with (kept here so that run queries scope by it directly).
    owner_user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column()
    #: The workflow's steps and output template as they were when the run was queued.
    definition: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus), default=RunStatus.QUEUED)
    #: api, console, cli or mcp (a call of the composite tool).
    trigger: Mapped[str] = mapped_column(sa.String(16), default="api")
    input: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The result (any JSON value), once succeeded.
    output: Mapped[Any] = mapped_column(JSONType, default=None, nullable=True)
    error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    job_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class WorkflowStepRun(IdMixin, Base):
    __tablename__ = "workflow_step_runs"
    __table_args__ = (sa.UniqueConstraint("run_id", "step_id", name="uq_workflow_step_runs_run_id_step_id"),)

    run_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("workflow_runs.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[str] = mapped_column(sa.String(64))
    #: The step's position in the definition (for listing in order).
    position: Mapped[int] = mapped_column()
    server_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("servers.id", ondelete="SET NULL"), default=None)
    tool: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[StepStatus] = mapped_column(enum_column(StepStatus), default=StepStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    #: The rendered arguments of the last attempt.
    input: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    #: What later steps see as ``steps.<id>.output`` (any JSON value).
    output: Mapped[Any] = mapped_column(JSONType, default=None, nullable=True)
    error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    duration_ms: Mapped[float | None] = mapped_column(sa.Float, default=None)
