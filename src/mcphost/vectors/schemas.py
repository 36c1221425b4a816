"""Request and response models of the vector database endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from mcphost.api.schemas import DisplayName
from mcphost.models import VectorDbStatus

#: Chroma's rule for collection names: 3-63 characters, starting and ending with a letter or digit.
CollectionName = Annotated[
    str, StringConstraints(min_length=3, max_length=63, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$")
]


class VectorDbCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: DisplayName
    org_id: uuid.UUID | None = Field(None, description="Owned by this organisation (you need to be a member).")


class Usage(BaseModel):
    collections: int | None = Field(None, description="Collections (null while the database is not running).")
    vectors: int | None = Field(None, description="Stored chunks, all collections (null while not running).")
    bytes_on_disk: int = Field(description="Size of its files.")
    disk_limit_bytes: int = Field(description="Ingestion stops at this size.")


class VectorDbOut(BaseModel):
    id: uuid.UUID
    name: str
    owner_user_id: uuid.UUID | None
    org_id: uuid.UUID | None
    status: VectorDbStatus
    last_error: str | None
    restarts: int
    server_id: uuid.UUID | None = Field(description="The hosted MCP server that searches it, once published.")
    published_collection: str | None
    created_at: datetime
    usage: Usage | None = None


class CollectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CollectionName


class CollectionOut(BaseModel):
    name: str
    vectors: int
    documents: int | None = None


class QueryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=4000)
    k: int = Field(5, ge=1, le=50)


class Hit(BaseModel):
    source: str
    title: str
    chunk: int
    score: float = Field(description="Cosine similarity (1 is identical).")
    text: str


class QueryOut(BaseModel):
    results: list[Hit]


class DocumentOut(BaseModel):
    source: str
    title: str
    chunks: int
    hash: str | None = None


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    collection: CollectionName
    name: DisplayName | None = Field(None, description="The server's name (default: the database's name + ' search').")


class PublishOut(BaseModel):
    server_id: uuid.UUID
    slug: str
    endpoint: str
    access_key: str = Field(description="Shown once: the server's first access key.")
