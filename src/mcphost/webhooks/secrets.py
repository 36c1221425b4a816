"""A server's webhook secret: made at create and on rotation, sealed at rest with the instance key (verifying
GitHub's HMAC signature needs the plaintext, so it cannot be hashed), shown once. Needs nothing above the models, so
that the servers' own service can make one when it creates a server."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.db.base import utcnow
from mcphost.models import Server, ServerWebhook
from mcphost.security.keys import KeyRing

PREFIX = "mcph_wh_"


def context(server_id: uuid.UUID) -> str:
    return f"server:{server_id}:webhook"


async def issue(session: AsyncSession, keys: KeyRing, server: Server) -> str:
    """Give the server a new webhook secret (replacing any old one, which stops working at once); the plaintext,
    shown to the user only now."""
    plaintext = PREFIX + secrets.token_urlsafe(32)
    sealed = keys.secrets.encrypt(plaintext, context(server.id))
    webhook = await session.get(ServerWebhook, server.id, with_for_update=True)
    if webhook is None:
        session.add(ServerWebhook(server_id=server.id, secret=sealed, rotated_at=utcnow()))
    else:
        webhook.secret, webhook.rotated_at = sealed, utcnow()
    await session.flush()
    return plaintext


async def reveal(session: AsyncSession, keys: KeyRing, server_id: uuid.UUID) -> str | None:
    """The plaintext secret, to check a delivery against; None when the server has none yet."""
    webhook = await session.get(ServerWebhook, server_id)
    return None if webhook is None else keys.secrets.decrypt(webhook.secret, context(server_id))
