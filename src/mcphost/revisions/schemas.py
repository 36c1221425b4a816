"""Request and response models of revisions and rollback."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mcphost.models import RevisionActor, RevisionReason
from mcphost.servers.schemas import ServerOut


class RevisionSettings(BaseModel):
    runtime: str
    env: dict[str, Any]
    config: dict[str, Any]
    resources: dict[str, Any]
    network: str
    isolation: str
    secret_names: list[str] = Field(description="The secrets it had, by name: values are never kept in revisions.")
    per_user_env: list[str] = Field(default_factory=list, description="The variables each user supplied.")


class RevisionOut(BaseModel):
    number: int
    live: bool = Field(description="Whether this is the server's live revision (its current source and settings).")
    created_at: datetime
    reason: RevisionReason = Field(
        description="create, update (changed settings), redeploy, webhook, push (GitHub), rollback, or initial "
        "(recorded from servers that existed before revisions)."
    )
    actor: RevisionActor = Field(description="user, webhook, github or system.")
    created_by: uuid.UUID | None = Field(description="The user who made it; null for webhooks and pushes.")
    created_by_email: str | None = None
    rolled_back_to: int | None = Field(description="A rollback: the revision it deployed again.")
    detail: str | None = Field(description="About the trigger, e.g. the pushed commit.")
    source: dict[str, Any]
    settings: RevisionSettings
    resolved: dict[str, Any] | None = Field(
        description="What the runtime resolved the source to when it prepared it (package version, image digest, "
        "commit...); null until then."
    )
    resolved_at: datetime | None


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revision: int = Field(ge=1, le=2**31 - 1, description="The revision whose source and settings to deploy again.")


class RollbackOut(BaseModel):
    server: ServerOut = Field(description="The server, redeploying (follow its status stream for progress).")
    revision: RevisionOut = Field(description="The new revision the rollback recorded.")
