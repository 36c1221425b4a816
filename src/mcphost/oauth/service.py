"""The token endpoint (authorization code with PKCE, refresh with rotation), revocation (RFC 7009), and the
authorised apps a user sees and revokes.

A refresh token is used once: each exchange gives a new one. Presenting one that was already exchanged means it was
copied, so every token of that sign-in (its family, see ``OAuthToken.family_id``) is revoked; so does replaying an
authorization code (RFC 6749 §4.1.2)."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oauth2.rfc7636.challenge import CODE_VERIFIER_PATTERN
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.db.base import utcnow
from mcphost.db.session import queue_after_commit
from mcphost.errors import NotFound
from mcphost.events import Event
from mcphost.models import OAuthClient, OAuthClientKind, OAuthGrant, OAuthToken, OAuthTokenKind, Server
from mcphost.oauth import authorize, clients
from mcphost.oauth.errors import InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget, UnsupportedGrantType
from mcphost.oauth.metadata import issuer
from mcphost.oauth.repository import OAuthRepository
from mcphost.oauth.resources import names_server
from mcphost.security import tokens
from mcphost.security.keys import KeyRing
from mcphost.servers.views import endpoint_url
from mcphost.settings import OAuthSettings

ACCESS_PREFIX: Final = "mcph_oat_"
REFRESH_PREFIX: Final = "mcph_ort_"


@dataclass(frozen=True)
class TokenContext:
    session: AsyncSession
    keys: KeyRing
    settings: OAuthSettings
    public_url: str


async def exchange(context: TokenContext, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
    """The token endpoint: the RFC 6749 §5.1 answer for an ``authorization_code`` or ``refresh_token`` grant."""
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidRequest("Send grant_type (authorization_code or refresh_token).")
    if grant_type not in ("authorization_code", "refresh_token"):
        raise UnsupportedGrantType(f"The grant type {grant_type!r} is not supported.")
    client = await clients.authenticate(context.session, context.keys, clients.presented(form, authorization))
    if grant_type not in client.grant_types:
        raise InvalidGrant(f"This client did not register the {grant_type} grant.")
    if grant_type == "authorization_code":
        return await _from_code(context, client, form)
    return await _from_refresh(context, client, form)


async def _from_code(context: TokenContext, client: OAuthClient, form: dict[str, str]) -> dict[str, Any]:
    repository = OAuthRepository(context.session)
    value, verifier = form.get("code"), form.get("code_verifier")
    if not value:
        raise InvalidRequest("Send the authorization code (code).")
    code = await repository.code(tokens.hash_token(context.keys.token_hmac, value))
    grant = await repository.grant(code.grant_id) if code is not None else None
    if code is None or grant is None or grant.client_pk != client.id:
        raise InvalidGrant("The authorization code is not valid.")
    now = utcnow()
    if not await repository.use_code(code.id, now):
        # A replayed code: whoever holds it may be an attacker; everything issued from it stops working.
        await _revoke_family(context.session, grant, code.id, "authorization code replayed")
        raise InvalidGrant("The authorization code was already used; the tokens issued from it are revoked.")
    if code.expires_at <= now:
        raise InvalidGrant("The authorization code expired; start the authorization again.")
    if form.get("redirect_uri", code.redirect_uri) != code.redirect_uri:
        raise InvalidGrant("redirect_uri differs from the one of the authorization request.")
    if not verifier:
        raise InvalidRequest("PKCE: send the code_verifier.")
    if not CODE_VERIFIER_PATTERN.match(verifier) or not hmac.compare_digest(_s256(verifier), code.code_challenge):
        raise InvalidGrant("PKCE verification failed: the code_verifier does not match the code_challenge.")
    _same_resource(form, code.resource)
    if grant.revoked_at is not None:
        raise InvalidGrant("The authorization was revoked.")
    return await _issue(context, client, grant, code.id, code.scopes, now)


async def _from_refresh(context: TokenContext, client: OAuthClient, form: dict[str, str]) -> dict[str, Any]:
    repository = OAuthRepository(context.session)
    value = form.get("refresh_token")
    if not value:
        raise InvalidRequest("Send the refresh_token.")
    token = await repository.token(tokens.hash_token(context.keys.token_hmac, value))
    grant = await repository.grant(token.grant_id) if token is not None else None
    if token is None or token.kind is not OAuthTokenKind.REFRESH or grant is None or grant.client_pk != client.id:
        raise InvalidGrant("The refresh token is not valid.")
    now = utcnow()
    if token.revoked_at is not None or grant.revoked_at is not None:
        raise InvalidGrant("The refresh token was revoked; authorize again.")
    if not await repository.use_refresh(token.id, now):
        await _revoke_family(context.session, grant, token.family_id, "refresh token reused")
        raise InvalidGrant("The refresh token was already used; every token of this sign-in is now revoked.")
    if token.expires_at <= now:
        raise InvalidGrant("The refresh token expired; authorize again.")
    server = await context.session.get(Server, grant.server_id)
    if server is None:
        raise InvalidGrant("The server of this authorization no longer exists.")
    resource = form.get("resource")
    if resource is not None and not await names_server(
        context.session, resource, server.id, server.slug, context.public_url
    ):
        endpoint = endpoint_url(issuer(context.public_url), server.slug)
        raise InvalidTarget(
            f"The token can only be for {endpoint} (or a verified domain of it), the server authorized."
        )
    scopes = token.scopes
    if form.get("scope"):
        asked = authorize.parse_scopes(form["scope"])
        if not set(asked) <= set(token.scopes):
            raise InvalidScope("A refresh may only narrow the scopes granted.")
        scopes = asked
    return await _issue(context, client, grant, token.family_id, scopes, now)


def _s256(verifier: str) -> str:
    return str(create_s256_code_challenge(verifier))  # type: ignore[no-untyped-call]


def _same_resource(form: dict[str, str], resource: str) -> None:
    asked = form.get("resource")
    if asked is not None and asked.rstrip("/") != resource.rstrip("/"):
        raise InvalidTarget(f"The token can only be for {resource}, the resource that was authorized.")


async def _issue(
    context: TokenContext,
    client: OAuthClient,
    grant: OAuthGrant,
    family_id: uuid.UUID,
    scopes: list[str],
    now: Any,
) -> dict[str, Any]:
    repository = OAuthRepository(context.session)
    settings = context.settings
    access = tokens.issue_opaque_token(context.keys.token_hmac, ACCESS_PREFIX)
    lifetime = timedelta(minutes=settings.access_token_minutes)
    await repository.add(
        OAuthToken(
            token_hash=access.hash,
            kind=OAuthTokenKind.ACCESS,
            grant_id=grant.id,
            family_id=family_id,
            prefix=access.prefix,
            scopes=scopes,
            expires_at=now + lifetime,
        )
    )
    answer: dict[str, Any] = {
        "access_token": access.secret,
        "token_type": "Bearer",
        "expires_in": int(lifetime.total_seconds()),
        "scope": " ".join(scopes),
    }
    if "refresh_token" in client.grant_types:
        refresh = tokens.issue_opaque_token(context.keys.token_hmac, REFRESH_PREFIX)
        await repository.add(
            OAuthToken(
                token_hash=refresh.hash,
                kind=OAuthTokenKind.REFRESH,
                grant_id=grant.id,
                family_id=family_id,
                prefix=refresh.prefix,
                scopes=scopes,
                expires_at=now + timedelta(days=settings.refresh_token_days),
            )
        )
        answer["refresh_token"] = refresh.secret
    return answer


async def _revoke_family(session: AsyncSession, grant: OAuthGrant, family_id: uuid.UUID, why: str) -> None:
    await OAuthRepository(session).revoke_family(family_id, utcnow())
    event = Event("user.oauth_revoked", {"grant": str(grant.id), "reason": why}, user_id=grant.user_id)
    queue_after_commit(session, event)


async def revoke(context: TokenContext, form: dict[str, str], authorization: str | None) -> None:
    """RFC 7009: revoke a token of the requesting client (a refresh token takes its whole sign-in with it). An
    unknown token, or another client's, is answered the same (200) and nothing changes."""
    client = await clients.authenticate(context.session, context.keys, clients.presented(form, authorization))
    value = form.get("token")
    if not value:
        raise InvalidRequest("Send the token to revoke (token).")
    repository = OAuthRepository(context.session)
    token = await repository.token(tokens.hash_token(context.keys.token_hmac, value))
    grant = await repository.grant(token.grant_id) if token is not None else None
    if token is None or grant is None or grant.client_pk != client.id or token.revoked_at is not None:
        return
    if token.kind is OAuthTokenKind.REFRESH:
        await _revoke_family(context.session, grant, token.family_id, "revoked by the client")
    else:
        token.revoked_at = utcnow()
        data = {"grant": str(grant.id), "reason": "revoked by the client"}
        queue_after_commit(context.session, Event("user.oauth_revoked", data, user_id=grant.user_id))


# -- the user's authorised apps ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorisedApp:
    grant: OAuthGrant
    client: OAuthClient
    server: Server

    @property
    def name(self) -> str:
        return self.client.client_name or self.client.client_id

    @property
    def by_metadata_document(self) -> bool:
        return self.client.kind is OAuthClientKind.METADATA_DOCUMENT


async def list_apps(session: AsyncSession, principal: Principal) -> list[AuthorisedApp]:
    rows = await OAuthRepository(session).grants_of(principal.user_id)
    return [AuthorisedApp(grant, client, server) for grant, client, server in rows]


async def revoke_app(session: AsyncSession, principal: Principal, grant_id: uuid.UUID) -> None:
    """Withdraw a consent: every token of it stops working at once."""
    repository = OAuthRepository(session)
    grant = await repository.user_grant(principal.user_id, grant_id)
    if grant is None or grant.revoked_at is not None:
        raise NotFound("You have authorised no app with this id.")
    now = utcnow()
    grant.revoked_at = now
    await repository.revoke_grant_tokens(grant.id, now)
    data = {"grant": str(grant.id), "reason": "revoked by the user"}
    queue_after_commit(session, Event("user.oauth_revoked", data, user_id=principal.user_id))
