"""Access keys of a server's endpoint: shown once, stored as a keyed hash, several per server, revocable."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.db.base import utcnow
from mcphost.db.session import queue_after_commit
from mcphost.errors import NotFound, QuotaExceeded
from mcphost.models import Server, ServerAccessKey
from mcphost.security import tokens
from mcphost.servers.repository import AccessKeyRepository
from mcphost.servers.service import server_event

if TYPE_CHECKING:
    from mcphost.platform import Platform

KEY_PREFIX = "mcph_sk_"
MAX_ACTIVE_KEYS = 50


async def add_key(
    session: AsyncSession, platform: Platform, server: Server, name: str, created_by: uuid.UUID | None
) -> tuple[ServerAccessKey, str]:
    repository = AccessKeyRepository(session)
    if await repository.count_active(server.id) >= MAX_ACTIVE_KEYS:
        raise QuotaExceeded(f"A server has at most {MAX_ACTIVE_KEYS} active access keys; revoke one first.")
    issued = tokens.issue_opaque_token(platform.keys.token_hmac, KEY_PREFIX)
    key = await repository.add(
        ServerAccessKey(
            server_id=server.id, name=name, key_hash=issued.hash, prefix=issued.prefix, created_by=created_by
        )
    )
    return key, issued.secret


async def list_keys(session: AsyncSession, server: Server) -> list[ServerAccessKey]:
    return await AccessKeyRepository(session).list_for(server.id)


async def revoke_key(session: AsyncSession, server: Server, key_id: uuid.UUID) -> None:
    key = await AccessKeyRepository(session).get(server.id, key_id)
    if key is None:
        raise NotFound("This server has no access key with this id.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await session.flush()
        queue_after_commit(session, server_event("server.key_revoked", server, key_id=str(key.id)))
