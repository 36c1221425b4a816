"""Rules of personal access tokens: who may create which scopes, how long they live, revocation."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.accounts.repository import TokenRepository
from mcphost.accounts.schemas import TokenCreate
from mcphost.db.base import utcnow
from mcphost.db.session import queue_after_commit
from mcphost.errors import Forbidden, NotFound, QuotaExceeded, ValidationFailed
from mcphost.events import Event
from mcphost.models import ApiToken, TokenScope
from mcphost.security import tokens
from mcphost.security.keys import KeyRing
from mcphost.settings import AuthSettings

MAX_ACTIVE_TOKENS = 100


async def create_token(
    session: AsyncSession, keys: KeyRing, auth: AuthSettings, principal: Principal, data: TokenCreate
) -> tuple[ApiToken, str]:
    """Returns the stored token and its secret, which is never stored or shown again."""
    scopes = set(data.scopes)
    if TokenScope.ADMIN in scopes and not principal.user.is_admin:
        raise Forbidden("Only administrators can create tokens with the admin scope.", code="insufficient_role")
    if principal.via == "token" and not scopes <= principal.scopes:
        raise Forbidden(
            "A token can only create tokens with scopes it has itself; sign in to create broader ones.",
            code="insufficient_scope",
        )
    days = lifetime_days(auth, data)
    repository = TokenRepository(session)
    if await repository.count_active(principal.user_id) >= MAX_ACTIVE_TOKENS:
        raise QuotaExceeded(f"You have {MAX_ACTIVE_TOKENS} active tokens; revoke one you no longer use.")
    issued = tokens.issue_opaque_token(keys.token_hmac, tokens.PAT_PREFIX)
    expires_at = utcnow() + timedelta(days=days) if days is not None else None
    token = await repository.add(
        ApiToken(
            user_id=principal.user_id,
            name=data.name,
            token_hash=issued.hash,
            prefix=issued.prefix,
            scopes=sorted(scope.value for scope in scopes),
            expires_at=expires_at,
        )
    )
    return token, issued.secret


def default_days(auth: AuthSettings) -> int:
    """The lifetime of a token created without one: the instance's default, within its maximum."""
    return min(auth.default_token_days, auth.max_token_days)


def lifetime_days(auth: AuthSettings, data: TokenCreate) -> int | None:
    """How many days the new token lives: what was asked (at most the maximum), the default when nothing was, or
    None (never expires) when null was asked and the instance allows it."""
    if "expires_in_days" not in data.model_fields_set:
        return default_days(auth)
    if data.expires_in_days is None:
        if not auth.allow_non_expiring_tokens:
            raise ValidationFailed(
                "Tokens that never expire are turned off on this instance; give a lifetime of at most "
                f"{auth.max_token_days} days, or leave it out for the default of {default_days(auth)} days.",
                code="token_expiry_required",
                details=[{"loc": ["body", "expires_in_days"], "msg": "must be a number of days"}],
            )
        return None
    if data.expires_in_days > auth.max_token_days:
        raise ValidationFailed(
            f"Tokens live at most {auth.max_token_days} days.",
            details=[{"loc": ["body", "expires_in_days"], "msg": f"must be at most {auth.max_token_days}"}],
        )
    return data.expires_in_days


async def list_tokens(session: AsyncSession, principal: Principal, *, include_revoked: bool) -> list[ApiToken]:
    return await TokenRepository(session).list_for(principal.user_id, include_revoked=include_revoked)


async def revoke_token(session: AsyncSession, principal: Principal, token_id: uuid.UUID) -> None:
    token = await TokenRepository(session).get_for(principal.user_id, token_id)
    if token is None:
        raise NotFound("You have no token with this id.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await session.flush()
        event = Event("user.token_revoked", {"id": str(token.id), "name": token.name}, user_id=principal.user_id)
        queue_after_commit(session, event)
