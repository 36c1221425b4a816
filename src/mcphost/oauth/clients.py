"""Who a client is: registered through Dynamic Client Registration (RFC 7591), or known by the URL of its metadata
document (fetched and kept for ``metadata_cache_seconds``); and how a client proves it at the token endpoint."""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final
from urllib.parse import unquote

from authlib.oauth2.rfc7591 import ClientMetadataClaims
from joserfc.errors import JoseError
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.db.base import utcnow
from mcphost.models import OAuthClient, OAuthClientKind
from mcphost.oauth import cimd, redirects
from mcphost.oauth.errors import InvalidClient, InvalidClientMetadata, InvalidRedirectUri
from mcphost.oauth.metadata import AUTH_METHODS, GRANT_TYPES
from mcphost.oauth.repository import OAuthRepository
from mcphost.security import tokens
from mcphost.security.keys import KeyRing
from mcphost.settings import OAuthSettings

CLIENT_ID_PREFIX: Final = "mcph_client_"
SECRET_PREFIX: Final = "mcph_ocs_"  # noqa: S105 (a prefix)
_CLAIMS_OPTIONS: Final = ClientMetadataClaims.get_claims_options(
    {
        "response_types_supported": ["code"],
        "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
    }
)
#: Members kept from a registration or a metadata document (the rest are ignored, as RFC 7591 allows).
_TEXT_MEMBERS: Final = {"client_name": 200, "client_uri": 2048, "logo_uri": 2048, "software_id": 200,
                        "software_version": 100}  # fmt: skip


@dataclass(frozen=True)
class Registered:
    """A new registration: the client and, for a confidential client, its secret (shown this once)."""

    client: OAuthClient
    secret: str | None


def _clean(document: dict[str, Any], *, metadata_document: bool, settings: OAuthSettings) -> dict[str, Any]:
    """The client's metadata, checked; raises ``InvalidRedirectUri`` or ``InvalidClientMetadata``."""
    method = document.get("token_endpoint_auth_method")
    if method is None:
        # RFC 7591 defaults to client_secret_basic; a metadata document describes a client without a shared secret.
        method = "none" if metadata_document else "client_secret_basic"
    if method not in AUTH_METHODS or (metadata_document and method != "none"):
        allowed = "none" if metadata_document else ", ".join(AUTH_METHODS)
        raise InvalidClientMetadata(f"token_endpoint_auth_method {method!r} is not supported; use {allowed}.")
    uris = document.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(uri, str) for uri in uris):
        raise InvalidRedirectUri("redirect_uris must be a non-empty list of URIs.")
    if len(uris) > settings.max_redirect_uris:
        raise InvalidRedirectUri(f"At most {settings.max_redirect_uris} redirect URIs may be registered.")
    for uri in uris:
        try:
            redirects.check_registrable(uri, public=method == "none")
        except redirects.BadRedirectUri as exc:
            raise InvalidRedirectUri(str(exc)) from None
    grant_types = document.get("grant_types") or ["authorization_code"]
    if not isinstance(grant_types, list) or "authorization_code" not in grant_types:
        raise InvalidClientMetadata("grant_types must include authorization_code.")
    # The scope a client registers is not checked: clients name their own (claude.ai does), and what they get is
    # decided at the authorization endpoint.
    claims = {
        key: value for key, value in document.items() if key not in ("redirect_uris", "scope") and value is not None
    }
    claims["token_endpoint_auth_method"] = method
    try:
        ClientMetadataClaims(claims, {}, options=_CLAIMS_OPTIONS).validate()
    except JoseError as exc:
        raise InvalidClientMetadata(f"The client metadata is not valid: {exc.description or exc.error}.") from None
    cleaned: dict[str, Any] = {
        "redirect_uris": list(dict.fromkeys(uris)),
        "grant_types": [grant for grant in GRANT_TYPES if grant in grant_types],
        "token_endpoint_auth_method": method,
    }
    for name, limit in _TEXT_MEMBERS.items():
        value = document.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise InvalidClientMetadata(f"{name} must be a string of at most {limit} characters.")
        cleaned[name] = value
    return cleaned


async def register(
    session: AsyncSession, keys: KeyRing, settings: OAuthSettings, document: dict[str, Any]
) -> Registered:
    """Dynamic Client Registration: check the metadata, make up a client_id (and a secret for confidential
    clients)."""
    cleaned = _clean(document, metadata_document=False, settings=settings)
    secret = None
    client = OAuthClient(
        client_id=CLIENT_ID_PREFIX + secrets.token_urlsafe(18), kind=OAuthClientKind.REGISTERED, **cleaned
    )
    if cleaned["token_endpoint_auth_method"] != "none":  # noqa: S105 (a method name)
        issued = tokens.issue_opaque_token(keys.token_hmac, SECRET_PREFIX)
        client.secret_hash, secret = issued.hash, issued.secret
    await OAuthRepository(session).add(client)
    return Registered(client, secret)


async def resolve(session: AsyncSession, settings: OAuthSettings, client_id: str) -> OAuthClient:
    """The client named ``client_id`` at the authorization endpoint: registered, or its metadata document (fetched
    again when older than the cache allows)."""
    repository = OAuthRepository(session)
    if not cimd.looks_like_metadata_url(client_id):
        client = await repository.client(client_id)
        if client is None or client.kind is not OAuthClientKind.REGISTERED:
            raise InvalidClient(f"There is no client {client_id!r}; register it first.")
        return client
    cimd.check_client_id_url(client_id, settings)
    client = await repository.client(client_id)
    now = utcnow()
    fresh = timedelta(seconds=settings.metadata_cache_seconds)
    if client is not None and client.fetched_at is not None and now - client.fetched_at < fresh:
        return client
    document = await cimd.fetch_document(client_id, settings)
    cleaned = _clean(document, metadata_document=True, settings=settings)
    if client is None:
        client = OAuthClient(client_id=client_id, kind=OAuthClientKind.METADATA_DOCUMENT, fetched_at=now, **cleaned)
        await repository.add(client)
    else:
        for name, value in cleaned.items():
            setattr(client, name, value)
        client.fetched_at = now
        await session.flush()
    return client


@dataclass(frozen=True)
class Presented:
    """What a request to the token or revocation endpoint says about its client."""

    client_id: str | None
    secret: str | None
    basic: bool


def presented(form: dict[str, str], authorization: str | None) -> Presented:
    """The client credentials of a request: HTTP Basic (RFC 6749 §2.3.1) or the form's client_id/client_secret."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() == "basic" and value.strip():
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidClient("The Basic credentials are not valid base64.", headers=_BASIC_CHALLENGE) from None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise InvalidClient("The Basic credentials must be client_id:client_secret.", headers=_BASIC_CHALLENGE)
        return Presented(unquote(client_id), unquote(secret), basic=True)
    return Presented(form.get("client_id") or None, form.get("client_secret") or None, basic=False)


_BASIC_CHALLENGE: Final = {"WWW-Authenticate": 'Basic realm="MCP Host"'}


async def authenticate(session: AsyncSession, keys: KeyRing, credentials: Presented) -> OAuthClient:
    """The client a token or revocation request comes from; raises ``InvalidClient``."""
    headers = _BASIC_CHALLENGE if credentials.basic else None
    if not credentials.client_id:
        raise InvalidClient("Name the client: client_id in the form, or HTTP Basic credentials.", headers=headers)
    client = await OAuthRepository(session).client(credentials.client_id)
    if client is None:
        raise InvalidClient(f"There is no client {credentials.client_id!r}.", headers=headers)
    if client.secret_hash is not None:
        if credentials.secret is None:
            raise InvalidClient("This client must authenticate with its client_secret.", headers=headers)
        digest = tokens.hash_token(keys.token_hmac, credentials.secret)
        if not hmac.compare_digest(digest, client.secret_hash):
            raise InvalidClient("The client_secret is not valid.", headers=headers)
    return client


def registration_response(registered: Registered) -> dict[str, Any]:
    """The RFC 7591 §3.2.1 answer."""
    client = registered.client
    body: dict[str, Any] = {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.created_at.timestamp()),
        "redirect_uris": client.redirect_uris,
        "grant_types": client.grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
    }
    if registered.secret is not None:
        body |= {"client_secret": registered.secret, "client_secret_expires_at": 0}
    for name in _TEXT_MEMBERS:
        value = getattr(client, name)
        if value is not None:
            body[name] = value
    return body
