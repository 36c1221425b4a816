"""Access keys of a server's endpoint: shown once, stored as a keyed hash, several per server, revocable.

A key acts for the account that created it: the gateway honours it only while that account may still use the server
(``servers.permissions.may_use``), so the list shows each key's creator and whether the key works for that reason."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.db.base import utcnow
from mcphost.db.session import queue_after_commit
from mcphost.errors import Conflict, NotFound, QuotaExceeded
from mcphost.models import Server, ServerAccessKey, User
from mcphost.security import tokens
from mcphost.security.keys import KeyRing
from mcphost.servers.permissions import server_event, who_may_use
from mcphost.servers.repository import AccessKeyRepository
from mcphost.servers.schemas import AccessKeyOut

KEY_PREFIX = "mcph_sk_"
MAX_ACTIVE_KEYS = 50
#: Characters after ``KEY_PREFIX`` a prefix must have to name a key (the list shows six).
MIN_PREFIX_CHARS = 3
_ELLIPSES = ("…", "...")


async def add_key(
    session: AsyncSession, keys: KeyRing, server: Server, name: str, created_by: uuid.UUID | None
) -> tuple[ServerAccessKey, str]:
    repository = AccessKeyRepository(session)
    if await repository.count_active(server.id) >= MAX_ACTIVE_KEYS:
        raise QuotaExceeded(f"A server has at most {MAX_ACTIVE_KEYS} active access keys; revoke one first.")
    issued = tokens.issue_opaque_token(keys.token_hmac, KEY_PREFIX)
    key = await repository.add(
        ServerAccessKey(
            server_id=server.id, name=name, key_hash=issued.hash, prefix=issued.prefix, created_by=created_by
        )
    )
    return key, issued.secret


def key_out(key: ServerAccessKey, creator: User | None, *, creator_has_access: bool) -> AccessKeyOut:
    return AccessKeyOut.model_validate(key).model_copy(
        update={
            "created_by_email": creator.email if creator is not None else None,
            "creator_has_access": creator_has_access,
        }
    )


async def list_keys(session: AsyncSession, server: Server) -> list[AccessKeyOut]:
    """The server's keys, newest first, each with its creator and whether the creator may still use the server."""
    rows = await AccessKeyRepository(session).list_with_creators(server.id)
    creators = {creator.id: creator for _, creator in rows if creator is not None}
    access = await who_may_use(session, list(creators.values()), server)
    return [
        key_out(key, creator, creator_has_access=creator is not None and access[creator.id]) for key, creator in rows
    ]


async def revoke_key(session: AsyncSession, keys: KeyRing, server: Server, ref: str) -> ServerAccessKey:
    """Revoke the key named by ``ref``: its id, its prefix as the list shows it (with or without the trailing …),
    or the key itself. An already revoked key stays revoked."""
    key = await find_key(session, keys, server, ref)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await session.flush()
        queue_after_commit(session, server_event("server.key_revoked", server, key_id=str(key.id)))
    return key


async def find_key(session: AsyncSession, keys: KeyRing, server: Server, ref: str) -> ServerAccessKey:
    repository = AccessKeyRepository(session)
    ref = ref.strip()
    try:
        key_id = uuid.UUID(ref)
    except ValueError:
        pass
    else:
        found = await repository.get(server.id, key_id)
        if found is None:
            raise NotFound("This server has no access key with this id.")
        return found
    for ellipsis in _ELLIPSES:
        ref = ref.removesuffix(ellipsis)
    if ref.startswith(KEY_PREFIX) and len(ref) > len(KEY_PREFIX) + 20:  # the whole key, pasted
        found = await repository.by_hash(server.id, tokens.hash_token(keys.token_hmac, ref))
        if found is None:
            raise NotFound("This is not an access key of this server.")
        return found
    prefix = ref if ref.startswith(KEY_PREFIX) else KEY_PREFIX + ref
    if len(prefix) < len(KEY_PREFIX) + MIN_PREFIX_CHARS:
        raise NotFound(
            f"Name the key by its id or by its prefix with at least {MIN_PREFIX_CHARS} characters after "
            f"{KEY_PREFIX} (`mcphost servers keys list` shows both)."
        )
    matches = [key for key in await repository.list_for(server.id) if key.prefix.startswith(prefix)]
    active = [key for key in matches if key.revoked_at is None]
    candidates = active or matches
    if not candidates:
        raise NotFound(f"This server has no access key with the prefix {prefix}.")
    if len(candidates) > 1:
        names = ", ".join(f"{key.name} ({key.id})" for key in candidates[:5])
        raise Conflict(
            f"{len(candidates)} keys of this server start with {prefix}: {names}. Name the key by its id.",
            code="ambiguous_key",
            details={"ids": [str(key.id) for key in candidates]},
        )
    return candidates[0]
