"""The authorization server's endpoints: metadata (RFC 8414, and the same document as OpenID-style discovery),
Dynamic Client Registration (RFC 7591), the token endpoint and revocation (RFC 7009); and the authorised-apps API
under ``/api/me/oauth/apps``. The authorization endpoint with its consent page is a console page
(``ui/routes/oauth.py``).

OAuth endpoints answer errors as RFC 6749 §5.2 says (``{"error", "error_description"}``), never in the API's error
shape. An error is returned, not raised, so that what the service did before deciding on it (revoking the tokens of
a replayed code or refresh token) is committed."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any, Final

import orjson
from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse

from mcphost.api.deps import PlatformDep, ReadPrincipal, SessionDep, WritePrincipal, client_ip
from mcphost.api.schemas import AUTHENTICATED_ERRORS
from mcphost.gateway.access import RateLimiter
from mcphost.oauth import clients, service
from mcphost.oauth.errors import InvalidRequest, OAuthDisabled, OAuthError, RegistrationRateLimited
from mcphost.oauth.metadata import REGISTER_PATH, REVOKE_PATH, TOKEN_PATH, server_metadata
from mcphost.oauth.schemas import AuthorisedAppOut
from mcphost.platform import Platform

#: The protocol endpoints are described by their RFCs and docs/oauth.md, not in the API's OpenAPI document: they answer
#: OAuth's own error shape and form bodies, which the API's conventions (and its schema-driven tests) do not cover.
router = APIRouter(tags=["oauth"], include_in_schema=False)
apps_router = APIRouter(prefix="/api/me/oauth", tags=["oauth"], responses=AUTHENTICATED_ERRORS)
NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}
#: Browser-based MCP clients call these endpoints from their own origin; no cookie is ever involved.
CORS: Final = {"Access-Control-Allow-Origin": "*"}
PREFLIGHT: Final = CORS | {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "authorization, content-type, mcp-protocol-version",
    "Access-Control-Max-Age": "86400",
}
_WELL_KNOWN: Final = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")


def oauth_error(exc: OAuthError, extra: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(exc.body(), exc.status_code, headers=NO_STORE | CORS | exc.headers | (extra or {}))


def _enabled(platform: Platform) -> None:
    if not platform.settings.oauth.enabled:
        raise OAuthDisabled()


async def _answer(work: Awaitable[dict[str, Any] | None], status_code: int = 200) -> Response:
    try:
        body = await work
    except OAuthError as exc:
        return oauth_error(exc)
    if body is None:
        return Response(status_code=status_code, headers=NO_STORE | CORS)
    return JSONResponse(body, status_code, headers=NO_STORE | CORS)


# -- metadata -----------------------------------------------------------------------------------------------------


def _metadata(platform: Platform, suffix: str) -> Response:
    public_url = platform.settings.effective_public_url
    issuer_path = public_url.split("://", 1)[-1].partition("/")[2].strip("/")
    if suffix.strip("/") != issuer_path:
        return JSONResponse(
            {"error": "not_found", "error_description": f"The issuer of this MCP Host is {public_url}."}, 404
        )
    if not platform.settings.oauth.enabled:
        return oauth_error(OAuthDisabled())
    return JSONResponse(server_metadata(public_url, platform.settings.oauth), headers=CORS)


async def authorization_server_metadata(platform: PlatformDep) -> Response:
    """Where MCP clients learn how to sign a user in: endpoints, PKCE (S256), registration by metadata document or
    dynamically, the ``iss`` response parameter. Also served as OpenID-style discovery (there are no ID tokens)."""
    return _metadata(platform, "")


async def authorization_server_metadata_at(suffix: str, platform: PlatformDep) -> Response:
    """The path-suffixed form (RFC 8414 §3.1), for an issuer whose public URL has a path."""
    return _metadata(platform, suffix)


for _index, _path in enumerate(_WELL_KNOWN):
    router.add_api_route(
        _path,
        authorization_server_metadata,
        methods=["GET"],
        summary="Authorization server metadata (RFC 8414)",
        operation_id=f"authorization_server_metadata_{_index}",
    )
    router.add_api_route(
        _path + "/{suffix:path}",
        authorization_server_metadata_at,
        methods=["GET"],
        include_in_schema=False,
        operation_id=f"authorization_server_metadata_at_{_index}",
    )


# -- registration, token, revocation ------------------------------------------------------------------------------


async def _form(request: Request) -> dict[str, str]:
    """The form of a token or revocation request; each parameter once (RFC 6749 §3.2)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise InvalidRequest("Send the parameters as application/x-www-form-urlencoded.")
    form = await request.form()
    single: dict[str, str] = {}
    for name, value in form.multi_items():
        if not isinstance(value, str):
            raise InvalidRequest(f"{name} must be a plain value.")
        if name in single:
            raise InvalidRequest(f"The parameter {name} appears more than once.")
        single[name] = value
    return single


def _limited(request: Request, platform: Platform) -> None:
    limiter: RateLimiter | None = getattr(request.app.state, "oauth_registration_limiter", None)
    if limiter is None:
        per_hour = platform.settings.oauth.registrations_per_hour
        limiter = request.app.state.oauth_registration_limiter = RateLimiter(per_hour / 3600.0, per_hour)
    wait = limiter.retry_after(client_ip(request) or "unknown")
    if wait:
        raise RegistrationRateLimited(wait)


async def _registration(request: Request, session: SessionDep, platform: Platform) -> dict[str, Any]:
    _enabled(platform)
    settings = platform.settings.oauth
    if not settings.registration_enabled:
        raise InvalidRequest("Dynamic Client Registration is turned off here; use a Client ID Metadata Document.")
    _limited(request, platform)
    body = await request.body()
    if len(body) > settings.registration_max_bytes:
        raise _TooLarge(f"The registration is larger than {settings.registration_max_bytes} bytes.")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidRequest("Send the client metadata as a JSON object.") from None
    if not isinstance(document, dict):
        raise InvalidRequest("Send the client metadata as a JSON object.")
    registered = await clients.register(session, platform.keys, settings, document)
    return clients.registration_response(registered)


class _TooLarge(InvalidRequest):
    status_code = 413


@router.post(REGISTER_PATH, status_code=201, summary="Register a client (RFC 7591)")
async def register_client(request: Request, session: SessionDep, platform: PlatformDep) -> Response:
    """Dynamic Client Registration: a JSON document with at least ``redirect_uris``. A public client (native app,
    ``token_endpoint_auth_method: none``) gets a client_id; a confidential one also a client_secret, shown once."""
    return await _answer(_registration(request, session, platform), status.HTTP_201_CREATED)


def _context(session: SessionDep, platform: Platform) -> service.TokenContext:
    _enabled(platform)
    return service.TokenContext(session, platform.keys, platform.settings.oauth, platform.settings.effective_public_url)


async def _token(request: Request, session: SessionDep, platform: Platform) -> dict[str, Any]:
    context = _context(session, platform)
    return await service.exchange(context, await _form(request), request.headers.get("authorization"))


@router.post(TOKEN_PATH, summary="Token endpoint (authorization code with PKCE, refresh token)")
async def token(request: Request, session: SessionDep, platform: PlatformDep) -> Response:
    """Exchange an authorization code (with its PKCE ``code_verifier``) or a refresh token for an access token
    bound to one server's endpoint. Refresh tokens are rotated: each is used once."""
    return await _answer(_token(request, session, platform))


async def _revoke(request: Request, session: SessionDep, platform: Platform) -> None:
    context = _context(session, platform)
    await service.revoke(context, await _form(request), request.headers.get("authorization"))


@router.post(REVOKE_PATH, summary="Revoke a token (RFC 7009)")
async def revoke(request: Request, session: SessionDep, platform: PlatformDep) -> Response:
    """Revoke an access or refresh token of the calling client (a refresh token takes every token of its sign-in
    with it). Answers 200 for unknown tokens too."""
    return await _answer(_revoke(request, session, platform))


async def preflight() -> Response:
    return Response(status_code=204, headers=PREFLIGHT)


for _endpoint in (REGISTER_PATH, TOKEN_PATH, REVOKE_PATH):
    router.add_api_route(_endpoint, preflight, methods=["OPTIONS"], include_in_schema=False)


# -- the user's authorised apps -----------------------------------------------------------------------------------


@apps_router.get("/apps", summary="The apps you authorised to call your servers")
async def list_apps(principal: ReadPrincipal, session: SessionDep) -> list[AuthorisedAppOut]:
    return [AuthorisedAppOut.of(app) for app in await service.list_apps(session, principal)]


@apps_router.delete("/apps/{grant_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke an app")
async def revoke_app(grant_id: uuid.UUID, principal: WritePrincipal, session: SessionDep) -> None:
    """Every token of that authorisation stops working at once; the app must ask you again."""
    await service.revoke_app(session, principal, grant_id)
