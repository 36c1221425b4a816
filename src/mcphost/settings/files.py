"""Files of servers: what may be uploaded into a server's data directory (``/data`` inside every runtime)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FileSettings(BaseModel):
    """Limits of ``/api/servers/{id}/files``. The data directory is shared with the server, which writes there too:
    the quota counts everything in it, whoever wrote it."""

    max_file_bytes: int = Field(
        100 * 1024 * 1024, ge=1, description="Largest file one upload may store; larger uploads get 413."
    )
    quota_bytes: int = Field(
        1024 * 1024 * 1024,
        ge=1,
        description="Most a server's data directory may hold after an upload (files the server wrote count too); "
        "an upload that would pass it gets 413.",
    )
    max_listing_entries: int = Field(
        10_000, ge=1, description="Most entries one directory listing returns (the rest are counted, not listed)."
    )
