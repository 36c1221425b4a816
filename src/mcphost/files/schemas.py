"""What the files API shows of a server's files."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from mcphost.files.storage import Entry


class FileOut(BaseModel):
    name: str = Field(description="The entry's name.")
    path: str = Field(description="Its path relative to /data.")
    type: Literal["file", "directory", "symlink", "other"] = Field(
        description="file, directory, symlink (made by the server; never followed) or other (a FIFO, socket or "
        "device; never served)."
    )
    size: int | None = Field(description="Bytes (files only).")
    modified_at: datetime = Field(description="Last modification.")
    sha256: str | None = Field(None, description="SHA-256 of the content, hex (files only).")
    content_type: str | None = Field(None, description="Media type guessed from the name (files only).")


class FileStored(FileOut):
    created: bool = Field(description="True when the file is new, false when it replaced one.")


class FileListing(BaseModel):
    path: str = Field(description="The directory listed, relative to /data ('/' for /data itself).")
    entries: list[FileOut]
    total: int = Field(description="Entries the directory has; more than listed when truncated.")
    truncated: bool = Field(description="Whether entries stops before the end (files.max_listing_entries).")
    used_bytes: int = Field(description="Bytes the server's data directory holds, uploads and the server's own.")
    quota_bytes: int = Field(description="Most it may hold after an upload (files.quota_bytes).")


class FileDeleted(BaseModel):
    path: str
    type: str = Field(description="What was deleted: file, directory, symlink or other.")


def file_out(entry: Entry) -> FileOut:
    return FileOut(
        name=entry.name,
        path=entry.path,
        type=entry.type,
        size=entry.size,
        modified_at=entry.modified_at,
        sha256=entry.sha256,
        content_type=entry.content_type,
    )
