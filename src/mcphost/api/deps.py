"""Request dependencies: the platform, the transaction-owning session, and the authenticated principal.

The session dependency has ``scope="function"``: it commits when the endpoint returns and before the response
is sent, so a failed commit answers with an error instead of a success the database never saw.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal, authenticate
from mcphost.errors import Forbidden, Unauthorized
from mcphost.models import TokenScope
from mcphost.platform import Platform

SESSION_COOKIE = "mcphost_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer_scheme = HTTPBearer(
    auto_error=False, description="A session token from /api/auth/login or a personal access token."
)
cookie_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="The browser session cookie.")


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


async def get_session(platform: PlatformDep) -> AsyncIterator[AsyncSession]:
    async with platform.db.session_scope() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def check_same_origin(request: Request, platform: Platform) -> None:
    """Cookie-authenticated changes must come from this site's own pages (CSRF protection)."""
    origin = request.headers.get("origin")
    if origin is None:  # browsers always send Origin on cross-site unsafe requests; other clients need none
        return
    allowed = {
        _origin(platform.settings.effective_public_url),
        f"{request.url.scheme}://{request.url.netloc}",
    }
    if _origin(origin) not in allowed:
        raise Forbidden(
            "Cross-site request refused; use an Authorization header from other origins.",
            code="csrf_rejected",
        )


def set_session_cookie(response: Response, platform: Platform, token: str, expires_at: datetime) -> None:
    """The browser session: HttpOnly (no script reads it), Lax (sent on navigation from elsewhere, never on
    cross-site posts), Secure whenever the public URL is https."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        expires=expires_at,
        httponly=True,
        samesite="lax",
        secure=platform.settings.effective_public_url.startswith("https://"),
        path="/",
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def get_principal(
    request: Request,
    platform: PlatformDep,
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Principal:
    if request.headers.get("authorization") and bearer is None:
        raise Unauthorized("Send credentials as 'Authorization: Bearer <token>'.", code="invalid_authorization")
    if bearer is not None:
        return await authenticate(session, platform.keys, bearer.credentials.strip())
    if cookie:
        if request.method not in _SAFE_METHODS:
            check_same_origin(request, platform)
        return await authenticate(session, platform.keys, cookie)
    raise Unauthorized("Sign in or send 'Authorization: Bearer <token>'.", code="not_authenticated")


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def credential_of(request: Request) -> str | None:
    """The credential a request authenticates with: the bearer header wins over the session cookie."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(SESSION_COOKIE) or None


def _requires(scope: TokenScope):  # type: ignore[no-untyped-def]
    async def dependency(principal: PrincipalDep) -> Principal:
        if not principal.has(scope):
            raise Forbidden(f"This token lacks the '{scope.value}' scope needed here.", code="insufficient_scope")
        return principal

    dependency.__name__ = f"require_{scope.value}"
    return dependency


async def _requires_admin(principal: PrincipalDep) -> Principal:
    if not principal.user.is_admin:
        raise Forbidden("Only administrators can do this.", code="admin_required")
    if not principal.has(TokenScope.ADMIN):
        raise Forbidden("This token lacks the 'admin' scope needed here.", code="insufficient_scope")
    return principal


ReadPrincipal = Annotated[Principal, Depends(_requires(TokenScope.READ))]
WritePrincipal = Annotated[Principal, Depends(_requires(TokenScope.WRITE))]
InvokePrincipal = Annotated[Principal, Depends(_requires(TokenScope.INVOKE))]
AdminPrincipal = Annotated[Principal, Depends(_requires_admin)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
