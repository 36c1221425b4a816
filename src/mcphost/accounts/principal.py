"""The principal of a request: who is calling and with which scopes, resolved from a session JWT or a
personal access token. Disabled accounts, signed-out sessions and revoked or expired tokens stop working at
once because every request checks them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.repository import LoginSessionRepository, TokenRepository
from mcphost.db.base import utcnow
from mcphost.errors import Unauthorized
from mcphost.models import TokenScope, User
from mcphost.security import tokens
from mcphost.security.keys import KeyRing

ALL_SCOPES = frozenset(TokenScope)
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    user: User
    scopes: frozenset[TokenScope]
    via: Literal["session", "token"]
    credential_id: uuid.UUID

    @property
    def user_id(self) -> uuid.UUID:
        return self.user.id

    @property
    def is_admin(self) -> bool:
        """Admin powers need an admin account and, for tokens, the admin scope."""
        return self.user.is_admin and TokenScope.ADMIN in self.scopes

    def has(self, scope: TokenScope) -> bool:
        return scope in self.scopes


async def authenticate(session: AsyncSession, keys: KeyRing, credential: str) -> Principal:
    if tokens.looks_like_jwt(credential):
        return await _from_session_jwt(session, keys, credential)
    if credential.startswith(tokens.PAT_PREFIX):
        return await _from_access_token(session, keys, credential)
    raise Unauthorized("The bearer credential is not a session token or personal access token.", code="invalid_token")


async def _from_session_jwt(session: AsyncSession, keys: KeyRing, credential: str) -> Principal:
    try:
        claims = tokens.decode_jwt(keys.jwt, credential)
    except tokens.ExpiredToken as exc:
        when = f" at {exc.expired_at.isoformat()}" if exc.expired_at else ""
        raise Unauthorized(f"Your session expired{when}; sign in again.", code="token_expired") from exc
    except tokens.InvalidToken as exc:
        raise Unauthorized("The session token is invalid; sign in again.", code="invalid_token") from exc
    found = await LoginSessionRepository(session).with_user(claims.session_id, claims.user_id)
    if found is None or found[0].revoked_at is not None:
        raise Unauthorized("This session was signed out; sign in again.", code="session_revoked")
    login, user = found
    _ensure_active(user)
    return Principal(user=user, scopes=ALL_SCOPES, via="session", credential_id=login.id)


async def _from_access_token(session: AsyncSession, keys: KeyRing, credential: str) -> Principal:
    repository = TokenRepository(session)
    found = await repository.with_user_by_hash(tokens.hash_token(keys.token_hmac, credential))
    if found is None:
        raise Unauthorized("The personal access token is not valid.", code="invalid_token")
    token, user = found
    now = utcnow()
    if token.revoked_at is not None:
        raise Unauthorized("This personal access token was revoked.", code="token_revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthorized(
            f"This personal access token expired at {token.expires_at.isoformat()}; create a new one.",
            code="token_expired",
        )
    _ensure_active(user)
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        await repository.touch(token.id, now)
    scopes = frozenset(TokenScope(scope) for scope in token.scopes if scope in TokenScope._value2member_map_)
    return Principal(user=user, scopes=scopes, via="token", credential_id=token.id)


def _ensure_active(user: User) -> None:
    if not user.is_active:
        raise Unauthorized("This account is disabled; ask an administrator.", code="account_disabled")
