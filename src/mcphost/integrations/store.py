"""The variables attached services give a server, sealed with the instance key and bound to the server and the kind;
below the services and the node agent, which reads them when it starts an instance."""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.db.session import Database
from mcphost.models import AttachedService
from mcphost.security.keys import KeyRing


def service_context(server_id: uuid.UUID, kind: str) -> str:
    return f"server:{server_id}:service:{kind}"


def seal_env(keys: KeyRing, server_id: uuid.UUID, kind: str, env: dict[str, str]) -> str:
    return keys.secrets.encrypt(json.dumps(env), service_context(server_id, kind))


def open_env(keys: KeyRing, row: AttachedService) -> dict[str, str]:
    return dict(json.loads(keys.secrets.decrypt(row.env_sealed, service_context(row.server_id, row.kind))))


async def rows_of(session: AsyncSession, server_id: uuid.UUID) -> list[AttachedService]:
    found = await session.scalars(
        sa.select(AttachedService).where(AttachedService.server_id == server_id).order_by(AttachedService.kind)
    )
    return list(found)


async def attached_env(db: Database, keys: KeyRing, server_id: uuid.UUID) -> dict[str, str]:
    """What the server's attached services add to its environment at launch (they win over its own variables)."""
    async with db.session_scope() as session:
        env: dict[str, str] = {}
        for row in await rows_of(session, server_id):
            env |= open_env(keys, row)
        return env
