"""Revisions of a server: one numbered row per deploy (create, a changed configuration, redeploy, webhook or push,
rollback), with the source and settings it deployed (never secret values, only their names), why and by whom, and
what the runtime resolved the source to (a package version, an image digest, a commit) once it prepared it."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mcphost.db.base import Base, IdMixin, utcnow
from mcphost.models._types import enum_column


class RevisionReason(enum.StrEnum):
    #: The server's first deploy.
    CREATE = "create"
    #: Its configuration changed (PATCH: environment, config, secrets, resources, network, isolation).
    UPDATE = "update"
    #: Its source was prepared anew on request (the newest version of an unpinned package, a moved tag or branch).
    REDEPLOY = "redeploy"
    #: A call of its generic webhook.
    WEBHOOK = "webhook"
    #: A GitHub push to its branch.
    PUSH = "push"
    #: The source and settings of an earlier revision, deployed again.
    ROLLBACK = "rollback"
    #: Recorded by the migration that introduced revisions, from the server's state at that time.
    INITIAL = "initial"


class RevisionActor(enum.StrEnum):
    USER = "user"
    WEBHOOK = "webhook"
    GITHUB = "github"
    SYSTEM = "system"


class ServerRevision(IdMixin, Base):
    __tablename__ = "server_revisions"
    __table_args__ = (sa.UniqueConstraint("server_id", "number", name="uq_server_revisions_server_id_number"),)

    server_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("servers.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[RevisionReason] = mapped_column(enum_column(RevisionReason))
    actor: Mapped[RevisionActor] = mapped_column(enum_column(RevisionActor))
    #: The user who made it (None for webhooks, pushes and the migration, or once the account is deleted).
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), default=None)
    #: A rollback: the revision whose source and settings this one deployed again.
    rolled_back_to: Mapped[int | None] = mapped_column(default=None)
    #: Words about the trigger, e.g. the pushed commit ("push to main: 1a2b3c4 Fix the parser").
    detail: Mapped[str | None] = mapped_column(sa.Text, default=None)
    source: Mapped[dict[str, Any]] = mapped_column()
    #: runtime, env, config, resources, network, isolation and secret_names (the secrets' names, never values).
    settings: Mapped[dict[str, Any]] = mapped_column()
    #: What the runtime's ``prepare`` resolved the source to (version, image digest, commit...), once known.
    resolved: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
