"""The authorization endpoint: checking a request (client, redirect URI, PKCE, scopes, resource), the user's decision
on the consent page, and the redirect back to the client with a code (or an error), its ``state`` and our ``iss``
(RFC 9207).

Until the client and its redirect URI are known to be genuine, errors are shown to the user and nothing is sent to
the redirect URI (RFC 6749 §4.1.2.1); after that, they go back to the client as ``error=…`` parameters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Final
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.db.base import utcnow
from mcphost.db.session import queue_after_commit
from mcphost.events import Event
from mcphost.models import OAuthClient, OAuthCode, OAuthGrant, Server, TokenScope
from mcphost.oauth import clients, redirects
from mcphost.oauth.errors import (
    AccessDenied,
    InvalidRequest,
    InvalidScope,
    InvalidTarget,
    OAuthError,
    UnsupportedResponseType,
)
from mcphost.oauth.metadata import SCOPE_INVOKE, SCOPES_SUPPORTED, issuer
from mcphost.oauth.repository import OAuthRepository
from mcphost.oauth.resources import domain_server, platform_slug
from mcphost.security import tokens
from mcphost.security.keys import KeyRing
from mcphost.servers.repository import visible_to
from mcphost.servers.service import may_invoke
from mcphost.settings import OAuthSettings

CODE_PREFIX: Final = "mcph_oac_"
_CHALLENGE: Final = re.compile(r"^[A-Za-z0-9_-]{43}$")  # BASE64URL(SHA-256(verifier)), no padding
#: The request parameters the consent form carries back.
PARAMETERS: Final = (
    "response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method", "scope",
    "resource",
)  # fmt: skip


@dataclass(frozen=True)
class Checked:
    """An authorization request that may be shown to the user: a genuine client, a registered redirect URI."""

    client: OAuthClient
    redirect_uri: str
    state: str | None
    params: dict[str, str]


@dataclass(frozen=True)
class Request:
    """A complete, valid request: what the consent page shows and what a code is issued for."""

    checked: Checked
    scopes: list[str]
    resource: str
    #: The server's slug when the resource is a platform endpoint; None: a custom domain's (see ``resources``).
    slug: str | None
    code_challenge: str


def _single(params: dict[str, list[str]]) -> dict[str, str]:
    """Each parameter once (RFC 6749 §3.1: parameters must not be repeated)."""
    for name, values in params.items():
        if len(values) > 1 and name in PARAMETERS:
            raise InvalidRequest(f"The parameter {name} appears more than once.")
    return {name: values[0] for name, values in params.items() if name in PARAMETERS and values}


async def check_client(session: AsyncSession, settings: OAuthSettings, params: dict[str, list[str]]) -> Checked:
    """The client and redirect URI of a request; errors here are shown to the user, never redirected."""
    single = _single(params)
    client_id = single.get("client_id", "")
    if not client_id:
        raise InvalidRequest("The request names no client (client_id).")
    client = await clients.resolve(session, settings, client_id)
    redirect_uri = single.get("redirect_uri")
    if redirect_uri is None:
        if len(client.redirect_uris) != 1:
            raise InvalidRequest("This client registered several redirect URIs; the request must name one.")
        redirect_uri = client.redirect_uris[0]
    elif not redirects.matches(redirect_uri, client.redirect_uris):
        raise InvalidRequest(f"The redirect URI {redirect_uri} is not one this client registered.")
    return Checked(client, redirect_uri, single.get("state"), single)


def check_request(checked: Checked, public_url: str) -> Request:
    """The rest of the request (response type, PKCE, scopes, resource); errors go back to the client."""
    params = checked.params
    if params.get("response_type") != "code":
        raise UnsupportedResponseType("Only response_type=code is supported.")
    method = params.get("code_challenge_method")
    challenge = params.get("code_challenge")
    if not challenge:
        raise InvalidRequest("PKCE is required: send code_challenge with code_challenge_method=S256.")
    if method != "S256":
        raise InvalidRequest("Only the S256 PKCE method is supported (code_challenge_method=S256).")
    if not _CHALLENGE.match(challenge):
        raise InvalidRequest("code_challenge must be the base64url SHA-256 of the code verifier (43 characters).")
    scopes = parse_scopes(params.get("scope"))
    resource = params.get("resource")
    if not resource:
        raise InvalidTarget("Name the MCP server the token is for: resource=<its endpoint URL> (RFC 8707).")
    return Request(checked, scopes, resource, platform_slug(resource, public_url), challenge)


def parse_scopes(scope: str | None) -> list[str]:
    if not scope or not scope.strip():
        return [SCOPE_INVOKE]
    asked = list(dict.fromkeys(scope.split()))
    unknown = [name for name in asked if name not in SCOPES_SUPPORTED]
    if unknown:
        raise InvalidScope(f"Unknown scope {unknown[0]!r}; this server grants {', '.join(SCOPES_SUPPORTED)}.")
    return asked


def invoking(principal: Principal) -> Principal:
    """The user as a token with only the invoke scope: what an OAuth token of theirs may do."""
    return Principal(principal.user, frozenset({TokenScope.INVOKE}), "token", principal.credential_id)


async def server_for(session: AsyncSession, principal: Principal, request: Request) -> Server:
    """The server the request names, if this user may call it."""
    acting = invoking(principal)
    if request.slug is not None:
        named = Server.slug == request.slug
    else:
        server_id = await domain_server(session, request.resource)
        named = Server.id == server_id if server_id is not None else sa.false()
    server = await session.scalar(sa.select(Server).where(named, visible_to(acting)))
    if server is None or not await may_invoke(session, acting, server):
        raise InvalidTarget(f"There is no server at {request.resource} that you may call.")
    return server


async def approve(
    session: AsyncSession,
    keys: KeyRing,
    settings: OAuthSettings,
    principal: Principal,
    request: Request,
    public_url: str,
) -> str:
    """The user allowed: record the grant, issue a code; the address to send the browser to."""
    server = await server_for(session, principal, request)
    repository = OAuthRepository(session)
    client = request.checked.client
    now = utcnow()
    grant = await repository.grant_for(principal.user_id, client.id, server.id)
    if grant is None:
        grant = OAuthGrant(user_id=principal.user_id, client_pk=client.id, server_id=server.id, scopes=request.scopes)
        await repository.add(grant)
    else:
        if grant.revoked_at is not None:
            grant.created_at, grant.revoked_at = now, None
        grant.scopes = sorted(set(grant.scopes) | set(request.scopes))
    issued = tokens.issue_opaque_token(keys.token_hmac, CODE_PREFIX)
    code = OAuthCode(
        code_hash=issued.hash,
        grant_id=grant.id,
        redirect_uri=request.checked.redirect_uri,
        code_challenge=request.code_challenge,
        scopes=request.scopes,
        resource=request.resource,
        expires_at=now + timedelta(seconds=settings.code_seconds),
    )
    await repository.add(code)
    data = {"client": client.client_name or client.client_id, "server": server.slug}
    queue_after_commit(session, Event("user.oauth_authorized", data, user_id=principal.user_id))
    return back_to_client(request.checked, {"code": issued.secret}, public_url)


def deny(checked: Checked, public_url: str) -> str:
    return error_redirect(checked, AccessDenied("The user declined to authorize this client."), public_url)


def error_redirect(checked: Checked, error: OAuthError, public_url: str) -> str:
    return back_to_client(checked, {"error": error.code, "error_description": error.message}, public_url)


def back_to_client(checked: Checked, values: dict[str, str], public_url: str) -> str:
    """The redirect URI with the response parameters, the client's ``state`` and our ``iss``."""
    params = dict(values)
    if checked.state is not None:
        params["state"] = checked.state
    params["iss"] = issuer(public_url)
    separator = "&" if "?" in checked.redirect_uri else "?"
    return checked.redirect_uri + separator + urlencode(params)
