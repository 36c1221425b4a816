"""Hosted MCP servers: what the user asked for (source, configuration, desired state) and what the platform
observed (status, restarts, manifest and capabilities)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mcphost.db.base import Base, IdMixin, TimestampMixin, utcnow
from mcphost.models._types import enum_column
from mcphost.models.pin import PinPolicy


class ServerStatus(enum.StrEnum):
    PENDING = "pending"
    INSTALLING = "installing"
    # The phases of a git source's build (a long prepare), shown live instead of "installing".
    CLONING = "cloning"
    BUILDING = "building"
    PUSHING = "pushing"
    STARTING = "starting"
    RUNNING = "running"
    # A redeploy of a running server: the previous revision serves while the new one is prepared and started.
    UPDATING = "updating"
    STOPPING = "stopping"
    STOPPED = "stopped"
    CRASHED = "crashed"
    ERROR = "error"


class DesiredState(enum.StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"


class Isolation(enum.StrEnum):
    SHARED = "shared"
    PER_USER = "per_user"
    PER_SESSION = "per_session"


class Server(IdMixin, TimestampMixin, Base):
    __tablename__ = "servers"
    __table_args__ = (sa.CheckConstraint("(owner_user_id IS NOT NULL) <> (org_id IS NOT NULL)", name="one_owner"),)

    name: Mapped[str] = mapped_column(sa.String(100))
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True, default=None
    )
    org_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True, default=None
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), default=None)
    source: Mapped[dict[str, Any]] = mapped_column()
    runtime: Mapped[str] = mapped_column(sa.String(32))
    node: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    env: Mapped[dict[str, Any]] = mapped_column(default=dict)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secret_env: Mapped[dict[str, Any]] = mapped_column(default=dict)
    resources: Mapped[dict[str, Any]] = mapped_column(default=dict)
    network: Mapped[str] = mapped_column(sa.String(16), default="default")
    isolation: Mapped[Isolation] = mapped_column(enum_column(Isolation), default=Isolation.SHARED)
    #: per_user/per_session: instances at once (None: the gateway's default); at the cap the least recently used
    #: idle one is ended for a new client.
    max_instances: Mapped[int | None] = mapped_column(default=None)
    #: A client session (and its per_user/per_session instance) unused this long is ended (None: the default).
    idle_seconds: Mapped[int | None] = mapped_column(default=None)
    #: Instances ended at the cap to make room for a new client, since the server was created.
    evictions: Mapped[int] = mapped_column(default=0, server_default="0")
    desired_state: Mapped[DesiredState] = mapped_column(enum_column(DesiredState), default=DesiredState.RUNNING)
    status: Mapped[ServerStatus] = mapped_column(enum_column(ServerStatus), default=ServerStatus.PENDING)
    status_reason: Mapped[str | None] = mapped_column(sa.Text, default=None)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    generation: Mapped[int] = mapped_column(default=1)
    #: The number of its newest revision (``server_revisions``): the source and settings deployed now.
    revision: Mapped[int] = mapped_column(default=0, server_default="0")
    restart_count: Mapped[int] = mapped_column(default=0)
    consecutive_crashes: Mapped[int] = mapped_column(default=0)
    last_started_at: Mapped[datetime | None] = mapped_column(default=None)
    last_exit_code: Mapped[int | None] = mapped_column(default=None)
    warnings: Mapped[list[str]] = mapped_column(default=list)
    manifest: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    capabilities: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    capabilities_synced_at: Mapped[datetime | None] = mapped_column(default=None)
    #: What happens when a tool, prompt or resource definition changes (``definition_pins``): pin, warn or off.
    pin_policy: Mapped[PinPolicy] = mapped_column(enum_column(PinPolicy), default=PinPolicy.PIN, server_default="pin")
    #: The names held now, by kind ({"tool": [...], "prompt": [...], "resource": [uris]}): what the gateway hides
    #: and refuses, kept here so that checking a request needs no query of its own.
    held: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    #: Tools the owner disabled ({"disabled": [names]}) or keeps for a role and above in the organisation
    #: ({"min_role": {name: "admin"}}); the gateway hides and refuses them (``gateway/withheld.py``).
    tool_rules: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    #: Variables each user supplies for themselves (``user_credentials``): their per_user/per_session instances get
    #: their own values.
    per_user_env: Mapped[list[str]] = mapped_column(default=list, server_default="[]")


class ServerAccessKey(IdMixin, Base):
    """A key clients use to reach one server's endpoint; only a keyed hash is stored."""

    __tablename__ = "server_access_keys"

    server_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(32))
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
