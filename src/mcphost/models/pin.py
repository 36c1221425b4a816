"""Pinned definitions of a server's tools, prompts, resources and resource templates: what an owner approved, and
what the server declares now. An item whose declaration differs from the approved one (or that is new) is held."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mcphost.db.base import Base, utcnow
from mcphost.models._types import enum_column
from mcphost.models.server_activity import BigId


class PinPolicy(enum.StrEnum):
    #: A changed or new definition is held (hidden from lists, refused on call) until an owner approves it.
    PIN = "pin"
    #: A change is recorded and announced, and served at once.
    WARN = "warn"
    #: Definitions are not watched.
    OFF = "off"


class DefinitionKind(enum.StrEnum):
    TOOL = "tool"
    PROMPT = "prompt"
    RESOURCE = "resource"
    #: A resource template, by its URI template (RFC 6570): a held one also refuses reads of the URIs it matches.
    RESOURCE_TEMPLATE = "resource_template"


class DefinitionPin(Base):
    """One tool, prompt or resource of a server (a resource by its URI), as approved and as declared now."""

    __tablename__ = "definition_pins"
    __table_args__ = (sa.UniqueConstraint("server_id", "kind", "name", name="uq_definition_pins_item"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    server_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[DefinitionKind] = mapped_column(enum_column(DefinitionKind))
    name: Mapped[str] = mapped_column(sa.String(1000))
    #: SHA-256 of the approved definition's canonical JSON; None: never approved (an item new since the first sync).
    approved_digest: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    approved_definition: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    approved_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), default=None)
    #: What the server declared at the last sync (None: it no longer declares the item).
    current_digest: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    current_definition: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
