"""Reading and sealing users' credential values; below the services, so that the instance pool can read them."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.models import Server, UserCredential
from mcphost.security.keys import KeyRing


def credential_context(server_id: uuid.UUID, user_id: uuid.UUID, name: str) -> str:
    return f"server:{server_id}:user:{user_id}:env:{name}"


async def rows_of(session: AsyncSession, server_id: uuid.UUID, user_id: uuid.UUID) -> list[UserCredential]:
    rows = await session.scalars(
        sa.select(UserCredential).where(UserCredential.server_id == server_id, UserCredential.user_id == user_id)
    )
    return list(rows)


async def values_for(session: AsyncSession, keys: KeyRing, server: Server, user_id: uuid.UUID) -> dict[str, str]:
    """The user's values of the server's per-user variables (only those it still declares)."""
    wanted = set(server.per_user_env or ())
    return {
        row.name: keys.secrets.decrypt(row.value, credential_context(server.id, user_id, row.name))
        for row in await rows_of(session, server.id, user_id)
        if row.name in wanted
    }


def missing_message(server: Server, missing: list[str], public_url: str) -> str:
    """What a user who has not set their values is told (the gateway's error, the playground's)."""
    listed = ", ".join(missing)
    return (
        f"The server '{server.slug}' needs your own value{'s' if len(missing) > 1 else ''} of {listed} before it "
        f"starts for you: set {'them' if len(missing) > 1 else 'it'} at {public_url}/servers/{server.id}/credentials "
        f"or with `mcphost me credentials set {server.slug} {missing[0]}=…`."
    )
