"""Every query of the authorization server: clients, grants, codes and tokens (by hash), and the lookup the gateway
makes for an access token."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.models import OAuthClient, OAuthCode, OAuthGrant, OAuthToken, OAuthTokenKind, Server, User


class OAuthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- clients ------------------------------------------------------------------------------------------------

    async def client(self, client_id: str) -> OAuthClient | None:
        return await self.session.scalar(sa.select(OAuthClient).where(OAuthClient.client_id == client_id))

    async def client_by_pk(self, client_pk: uuid.UUID) -> OAuthClient | None:
        return await self.session.get(OAuthClient, client_pk)

    async def add(self, row: OAuthClient | OAuthGrant | OAuthCode | OAuthToken) -> None:
        self.session.add(row)
        await self.session.flush()

    # -- grants -------------------------------------------------------------------------------------------------

    async def grant_for(self, user_id: uuid.UUID, client_pk: uuid.UUID, server_id: uuid.UUID) -> OAuthGrant | None:
        return await self.session.scalar(
            sa.select(OAuthGrant).where(
                OAuthGrant.user_id == user_id, OAuthGrant.client_pk == client_pk, OAuthGrant.server_id == server_id
            )
        )

    async def grant(self, grant_id: uuid.UUID) -> OAuthGrant | None:
        return await self.session.get(OAuthGrant, grant_id)

    async def grants_of(self, user_id: uuid.UUID) -> list[tuple[OAuthGrant, OAuthClient, Server]]:
        """The user's grants in force, newest first, with their client and server."""
        rows = await self.session.execute(
            sa.select(OAuthGrant, OAuthClient, Server)
            .join(OAuthClient, OAuthClient.id == OAuthGrant.client_pk)
            .join(Server, Server.id == OAuthGrant.server_id)
            .where(OAuthGrant.user_id == user_id, OAuthGrant.revoked_at.is_(None))
            .order_by(OAuthGrant.created_at.desc(), OAuthGrant.id)
        )
        return [(grant, client, server) for grant, client, server in rows]

    async def user_grant(self, user_id: uuid.UUID, grant_id: uuid.UUID) -> OAuthGrant | None:
        return await self.session.scalar(
            sa.select(OAuthGrant).where(OAuthGrant.id == grant_id, OAuthGrant.user_id == user_id)
        )

    # -- codes --------------------------------------------------------------------------------------------------

    async def code(self, code_hash: str) -> OAuthCode | None:
        return await self.session.scalar(sa.select(OAuthCode).where(OAuthCode.code_hash == code_hash))

    async def use_code(self, code_id: uuid.UUID, now: datetime) -> bool:
        """Mark the code used; False when it already was (a concurrent or replayed exchange)."""
        result = await self.session.execute(
            sa.update(OAuthCode)
            .where(OAuthCode.id == code_id, OAuthCode.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    # -- tokens -------------------------------------------------------------------------------------------------

    async def token(self, token_hash: str) -> OAuthToken | None:
        return await self.session.scalar(sa.select(OAuthToken).where(OAuthToken.token_hash == token_hash))

    async def use_refresh(self, token_id: uuid.UUID, now: datetime) -> bool:
        """Mark a refresh token used; False when it already was (a rotated token presented again)."""
        result = await self.session.execute(
            sa.update(OAuthToken)
            .where(OAuthToken.id == token_id, OAuthToken.used_at.is_(None), OAuthToken.revoked_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def revoke_family(self, family_id: uuid.UUID, now: datetime) -> None:
        await self.session.execute(
            sa.update(OAuthToken)
            .where(OAuthToken.family_id == family_id, OAuthToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )

    async def revoke_grant_tokens(self, grant_id: uuid.UUID, now: datetime) -> None:
        await self.session.execute(
            sa.update(OAuthToken)
            .where(OAuthToken.grant_id == grant_id, OAuthToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )

    async def access_token_grant(self, token_hash: str) -> tuple[OAuthToken, OAuthGrant, Server, User] | None:
        """An access token with its grant, server and user (the gateway's lookup)."""
        row = (
            await self.session.execute(
                sa.select(OAuthToken, OAuthGrant, Server, User)
                .join(OAuthGrant, OAuthGrant.id == OAuthToken.grant_id)
                .join(Server, Server.id == OAuthGrant.server_id)
                .join(User, User.id == OAuthGrant.user_id)
                .where(OAuthToken.token_hash == token_hash, OAuthToken.kind == OAuthTokenKind.ACCESS)
            )
        ).first()
        return None if row is None else (row[0], row[1], row[2], row[3])
