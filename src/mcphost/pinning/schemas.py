"""What the pins endpoints answer and take."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mcphost.models import DefinitionKind, PinPolicy


class PinOut(BaseModel):
    kind: DefinitionKind
    name: str = Field(description="The tool's or prompt's name, the resource's URI.")
    state: Literal["approved", "held", "changed", "gone"] = Field(
        description="approved: served as approved; held: its definition differs from the approved one (or it is "
        "new) and the gateway hides and refuses it; changed: it differs but the policy serves it (warn, off); gone: "
        "the server no longer declares it."
    )
    approved: dict[str, Any] | None = Field(description="The approved definition (null: never approved).")
    current: dict[str, Any] | None = Field(description="What the server declares now (null: gone).")
    approved_at: datetime | None
    approved_by: uuid.UUID | None
    first_seen_at: datetime
    changed_at: datetime


class PinsOut(BaseModel):
    policy: PinPolicy
    held: dict[str, list[str]] = Field(description="The names held now, by kind.")
    items: list[PinOut]


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    names: list[str] | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="The held items to approve, by name (tools, prompts) or URI (resources); null: every held item.",
    )


class ApproveOut(BaseModel):
    approved: list[PinOut]
    held: dict[str, list[str]]
