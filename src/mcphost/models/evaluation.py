"""Evaluations: suites of test cases (a tool call on a hosted server and the answer expected of it), the runs of a
suite, and each case's result in a run.

A suite is owned like a server: by a user or by an organisation. Its cases may name servers of different owners,
as long as whoever defines a case may call that server's tools; a run calls them as the user it runs for."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mcphost.db.base import Base, IdMixin, JSONType, TimestampMixin, utcnow
from mcphost.models._types import enum_column
from mcphost.models.server_activity import BigId


class MatchMode(enum.StrEnum):
    """How a case compares the tool's answer with what it expects."""

    EXACT = "exact"
    CONTAINS = "contains"
    JSON_SUBSET = "json_subset"
    SIMILARITY = "similarity"


class EvaluationTrigger(enum.StrEnum):
    MANUAL = "manual"
    DEPLOY = "deploy"
    SCHEDULE = "schedule"


class EvaluationStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    #: Every case passed.
    PASSED = "passed"
    #: At least one case failed or could not be run (its result says why).
    FAILED = "failed"
    #: The run itself could not be carried out (``error`` says why); its results may be partial.
    ERROR = "error"


class EvaluationSuite(IdMixin, TimestampMixin, Base):
    __tablename__ = "evaluation_suites"
    __table_args__ = (sa.CheckConstraint("(owner_user_id IS NOT NULL) <> (org_id IS NOT NULL)", name="one_owner"),)

    name: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True, default=None
    )
    org_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True, default=None
    )
    #: Who created it: scheduled runs and runs after a redeploy call the tools as this user.
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), default=None)
    #: Run the cases of a server each time a new revision of it goes live.
    run_on_deploy: Mapped[bool] = mapped_column(default=True)
    #: Run the whole suite every this many seconds (None: no schedule).
    schedule_seconds: Mapped[int | None] = mapped_column(default=None)
    #: When the scheduler runs it next; the scheduler claims due suites by this column.
    next_run_at: Mapped[datetime | None] = mapped_column(default=None, index=True)


class EvaluationCase(IdMixin, Base):
    __tablename__ = "evaluation_cases"

    suite_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("evaluation_suites.id", ondelete="CASCADE"), index=True)
    server_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    tool: Mapped[str] = mapped_column(sa.String(500))
    arguments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Any JSON value: text for exact, contains and similarity; an object or array for json_subset.
    expected: Mapped[Any] = mapped_column(JSONType)
    match_mode: Mapped[MatchMode] = mapped_column(enum_column(MatchMode))
    #: The similarity a ``similarity`` case needs to pass (0..1); None for the other modes.
    threshold: Mapped[float | None] = mapped_column(sa.Float, default=None)
    #: Where it came from: null when written by hand, else the invocation record it was made from.
    recorded_from: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvaluationRun(IdMixin, Base):
    __tablename__ = "evaluation_runs"
    __table_args__ = (sa.Index("ix_evaluation_runs_suite_id_created_at", "suite_id", "created_at"),)

    suite_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("evaluation_suites.id", ondelete="CASCADE"))
    trigger: Mapped[EvaluationTrigger] = mapped_column(enum_column(EvaluationTrigger))
    status: Mapped[EvaluationStatus] = mapped_column(enum_column(EvaluationStatus), default=EvaluationStatus.QUEUED)
    #: A run after a redeploy covers only that server's cases; None: every case of the suite.
    server_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("servers.id", ondelete="CASCADE"), index=True, default=None
    )
    #: The revision whose going live triggered it (deploy runs).
    revision: Mapped[int | None] = mapped_column(default=None)
    #: The user whose access the tool calls use.
    run_as: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), default=None)
    #: Makes a trigger take effect once however many replicas see it (``deploy:{server}:{revision}``,
    #: ``schedule:{due time}``); null for manual runs.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    cases: Mapped[int] = mapped_column(default=0)
    passed: Mapped[int] = mapped_column(default=0)
    average_score: Mapped[float | None] = mapped_column(sa.Float, default=None)
    error: Mapped[str | None] = mapped_column(sa.Text, default=None)


class EvaluationResult(Base):
    __tablename__ = "evaluation_results"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("evaluation_runs.id", ondelete="CASCADE"), index=True)
    #: The case, while it exists; the result keeps what it evaluated either way.
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("evaluation_cases.id", ondelete="SET NULL"), default=None
    )
    server_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    case_name: Mapped[str] = mapped_column(sa.String(200))
    tool: Mapped[str] = mapped_column(sa.String(500))
    match_mode: Mapped[MatchMode] = mapped_column(enum_column(MatchMode))
    passed: Mapped[bool] = mapped_column()
    score: Mapped[float] = mapped_column(sa.Float)
    #: The tool's answer as compared (text, or JSON), cut to ``evaluations.max_output_chars``.
    actual: Mapped[Any | None] = mapped_column(JSONType, default=None)
    duration_ms: Mapped[float] = mapped_column(sa.Float, default=0.0)
    #: Why the case could not pass: the server not running, a tool error, a refusal.
    error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
