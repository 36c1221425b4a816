"""Setting and reading one's own credentials for a server: who may (those who may call it), which names (those it
declares per user), and what is shown (the names set, never a value)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.credentials.store import credential_context, rows_of
from mcphost.db.base import utcnow
from mcphost.errors import ValidationFailed
from mcphost.models import Server, UserCredential
from mcphost.security.keys import KeyRing
from mcphost.servers import service as servers

if TYPE_CHECKING:
    from mcphost.servers.agent import NodeAgent


@dataclass(frozen=True)
class CredentialStatus:
    server: Server
    required: list[str]
    set: list[str]

    @property
    def missing(self) -> list[str]:
        return [name for name in self.required if name not in self.set]


async def status(session: AsyncSession, principal: Principal, server_id: uuid.UUID) -> CredentialStatus:
    server = await servers.get_visible(session, principal, server_id)
    required = sorted(server.per_user_env or ())
    have = {row.name for row in await rows_of(session, server.id, principal.user_id)}
    return CredentialStatus(server, required, [name for name in required if name in have])


class CredentialParts(Protocol):
    """What setting credentials needs of the platform: the keys that seal them, and the node agent (if this process
    hosts servers) whose instances of the caller start again with the new values."""

    @property
    def keys(self) -> KeyRing: ...

    @property
    def agent(self) -> NodeAgent | None: ...


async def set_values(
    session: AsyncSession,
    parts: CredentialParts,
    principal: Principal,
    server_id: uuid.UUID,
    values: Mapping[str, str | None],
) -> CredentialStatus:
    """Set (or, with None, remove) the caller's own values; only names the server declares per user. The caller's
    running instances stop: their next request starts one with the new values."""
    keys = parts.keys
    server = await servers.get_invocable(session, principal, server_id)
    declared = set(server.per_user_env or ())
    unknown = sorted(set(values) - declared)
    if unknown:
        raise ValidationFailed(
            f"{server.name} does not take {', '.join(unknown)} per user; it takes "
            f"{', '.join(sorted(declared)) or 'nothing per user'}.",
            code="not_a_per_user_input",
        )
    rows = {row.name: row for row in await rows_of(session, server.id, principal.user_id)}
    for name, value in values.items():
        row = rows.get(name)
        if value is None:
            if row is not None:
                await session.delete(row)
            continue
        sealed = keys.secrets.encrypt(value, credential_context(server.id, principal.user_id, name))
        if row is None:
            session.add(UserCredential(server_id=server.id, user_id=principal.user_id, name=name, value=sealed))
        else:
            row.value, row.updated_at = sealed, utcnow()
    await session.flush()
    if parts.agent is not None:
        await parts.agent.instances.release_user(server.id, principal.user_id)
    return await status(session, principal, server_id)
