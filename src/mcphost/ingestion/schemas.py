"""Request and response models of the ingestion job endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mcphost.models import IngestionStatus
from mcphost.vectors.schemas import CollectionName


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerFilesSource(_Source):
    type: Literal["server_files"]
    server_id: uuid.UUID
    path: str | None = Field(
        None, max_length=500, pattern=r"^[A-Za-z0-9._/ -]+$", description="A folder of its files (default: all)."
    )


class UploadSource(_Source):
    """The files sent with the request (multipart field ``files``)."""

    type: Literal["upload"]


class GitSourceIn(_Source):
    type: Literal["git"]
    url: str = Field(min_length=1, max_length=2000, pattern=r"^(https|http|git|file)://[^\s]+$")
    ref: str | None = Field(None, max_length=255, pattern=r"^[A-Za-z0-9._/-]+$")
    subdir: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9._/-]+$")


class UrlSource(_Source):
    type: Literal["url"]
    url: str = Field(min_length=1, max_length=2000, pattern=r"^https?://[^\s]+$")


Source = Annotated[ServerFilesSource | UploadSource | GitSourceIn | UrlSource, Field(discriminator="type")]


class IngestionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vector_db_id: uuid.UUID
    collection: CollectionName = Field(description="Created if it does not exist.")
    sources: list[Source] = Field(min_length=1, max_length=50)
    chunk_size: int | None = Field(None, ge=100, le=8000, description="Characters per chunk (default: settings).")
    chunk_overlap: int | None = Field(None, ge=0, le=4000, description="Characters shared by consecutive chunks.")


class IngestionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    vector_db_id: uuid.UUID
    collection: str
    sources: list[dict[str, Any]]
    chunk_size: int
    chunk_overlap: int
    status: IngestionStatus
    progress: dict[str, Any] = Field(
        description="documents_total, documents_done, documents_failed, documents_unchanged, chunks, bytes"
    )
    errors: list[dict[str, Any]] = Field(description="One entry per failed document: document, error.")
    error: str | None
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
