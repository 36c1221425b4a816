"""Rules of a server's files: who may read (those who may use the server: its owner, members of its organisation and
administrators — the same people who may call its tools, which read these files anyway), who may write and delete
(its owner, admins of its organisation, administrators: what a server reads shapes what it does), the size limits and
the quota, and that the files live on the node that hosts the server."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.errors import Conflict, PayloadTooLarge
from mcphost.files import storage
from mcphost.files.paths import parse_path
from mcphost.models import Server
from mcphost.servers import service as servers
from mcphost.servers.launch import data_dir
from mcphost.servers.permissions import require_owner
from mcphost.settings import Settings


@dataclass(frozen=True)
class Listing:
    server: Server
    path: str
    entries: list[storage.Entry]
    total: int
    used_bytes: int
    quota_bytes: int


@dataclass
class Download:
    """An open regular file: stream it with ``chunks()``, which closes it at the end."""

    entry: storage.Entry
    fd: int

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            while chunk := await asyncio.to_thread(os.read, self.fd, storage.CHUNK):
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def root_of(settings: Settings, server: Server) -> Path:
    if server.node != settings.runtime.node_name:
        raise Conflict(
            f"{server.name} runs on the node {server.node}, and its files live there; use that node's API.",
            code="wrong_node",
        )
    return data_dir(settings.home, server)


async def readable(session: AsyncSession, principal: Principal, server_id: uuid.UUID) -> Server:
    return await servers.get_invocable(session, principal, server_id)


async def writable(session: AsyncSession, principal: Principal, server_id: uuid.UUID) -> Server:
    server = await servers.get_visible(session, principal, server_id)
    await require_owner(session, principal, server, "change its files")
    return server


async def read(
    session: AsyncSession, settings: Settings, principal: Principal, server_id: uuid.UUID, path: str
) -> Listing | Download:
    """A directory's listing, or a file opened for download."""
    server = await readable(session, principal, server_id)
    root = root_of(settings, server)
    parts = parse_path(path, allow_root=True)
    entry = await asyncio.to_thread(storage.describe, root, parts)
    if entry.type == "directory":
        limit = settings.files.max_listing_entries
        entries, total = await asyncio.to_thread(storage.list_directory, root, parts, limit)
        used = await asyncio.to_thread(storage.usage, root)
        return Listing(server, entry.path, entries, total, used, settings.files.quota_bytes)
    fd = await asyncio.to_thread(_open, root, parts)
    return Download(entry, fd)


def _open(root: Path, parts: tuple[str, ...]) -> int:
    with storage.directory(root, parts[:-1]) as parent:
        fd, _ = storage.open_regular(parent, parts[-1], parts)
        return fd


async def upload(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    server_id: uuid.UUID,
    path: str,
    chunks: AsyncIterator[bytes],
    *,
    declared_length: int | None = None,
    overwrite: bool = True,
    parts: tuple[str, ...] | None = None,
) -> tuple[storage.Entry, bool]:
    """Stream ``chunks`` into the file at ``path`` (``parts`` when already parsed): written beside it and renamed
    over it once complete and within the limits; on any failure (too big, a disconnect) nothing is left behind.
    Returns its entry and whether it is new."""
    server = await writable(session, principal, server_id)
    root = root_of(settings, server)
    parts = parts if parts is not None else parse_path(path)
    limits = settings.files
    if declared_length is not None and declared_length > limits.max_file_bytes:
        raise _too_large_file(limits.max_file_bytes)
    replaced = await asyncio.to_thread(storage.existing_size, root, parts)
    used = await asyncio.to_thread(storage.usage, root) - replaced
    room = limits.quota_bytes - used
    allowed = min(limits.max_file_bytes, room)
    if declared_length is not None and declared_length > allowed:
        raise _too_large_quota(limits.quota_bytes, used)
    pending = await asyncio.to_thread(storage.begin_upload, root, parts, overwrite=overwrite)
    digest = hashlib.sha256()
    written = 0
    try:
        async for chunk in chunks:
            written += len(chunk)
            if written > allowed:
                raise (
                    _too_large_file(limits.max_file_bytes)
                    if written > limits.max_file_bytes
                    else _too_large_quota(limits.quota_bytes, used)
                )
            digest.update(chunk)
            await asyncio.to_thread(pending.write, chunk)
        return await asyncio.to_thread(pending.commit, digest.hexdigest())
    finally:
        await asyncio.shield(asyncio.to_thread(pending.discard))  # a no-op after a commit


def _too_large_file(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The file is larger than the limit of {limit} bytes per file (files.max_file_bytes); nothing was stored.",
        code="file_too_large",
        details={"max_file_bytes": limit},
    )


def _too_large_quota(quota: int, used: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The server's files would pass its quota of {quota} bytes ({used} are used, by uploads and by the server "
        "itself); delete some files first. Nothing was stored.",
        code="quota_exceeded",
        details={"quota_bytes": quota, "used_bytes": used},
    )


async def delete(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    server_id: uuid.UUID,
    path: str,
    *,
    recursive: bool,
) -> str:
    """Delete a file, link or directory; returns what kind of entry it was."""
    server = await writable(session, principal, server_id)
    root = root_of(settings, server)
    parts = parse_path(path)
    return await asyncio.to_thread(storage.delete, root, parts, recursive=recursive)
