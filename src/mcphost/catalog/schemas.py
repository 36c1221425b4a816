"""Response models of the catalog endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class CatalogInput(BaseModel):
    """An input a deployment needs: an environment variable of the entry's package."""

    name: str
    description: str | None = None
    required: bool
    secret: bool
    default: str | None = None
    choices: list[str] | None = None
    per_user: bool = Field(
        False,
        description="Each user of a deployment supplies their own value (e.g. their own token): not asked at deploy; "
        "deployments get per_user isolation.",
    )


class CatalogEntryOut(BaseModel):
    id: uuid.UUID
    name: str = Field(description="The server.json name, e.g. io.github.modelcontextprotocol/time.")
    version: str
    title: str | None
    description: str
    builtin: bool
    registry_types: list[str] = Field(description="Package registries it can be installed from (pypi, npm, ...).")
    inputs: list[CatalogInput] = Field(description="Environment variables a deployment may or must provide.")
    document: dict[str, Any] = Field(description="The full server.json document.")
    updated_at: datetime
