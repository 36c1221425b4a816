"""CSRF protection of the console's forms: a signed double-submit token.

Every browser gets a random nonce in an HttpOnly, SameSite=Strict cookie; pages embed HMAC(key, nonce) in
their forms and in the ``X-CSRF-Token`` header htmx sends. A state change is accepted only when the token
matches the cookie's nonce (compared in constant time) and, when the browser names an Origin, it is this site.
Another site can neither read the token nor set the cookie, so it cannot forge either half.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from mcphost.api.deps import check_same_origin
from mcphost.errors import Forbidden
from mcphost.platform import Platform

CSRF_COOKIE = "mcphost_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
_NONCE_STATE = "csrf_nonce"
_NEW_NONCE_STATE = "csrf_nonce_is_new"


def _sign(key: bytes, nonce: str) -> str:
    digest = hmac.new(key, nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _nonce(request: Request) -> str:
    """The browser's nonce: from its cookie, or a new one that the response will set."""
    nonce: str | None = getattr(request.state, _NONCE_STATE, None)
    if nonce is None:
        nonce = request.cookies.get(CSRF_COOKIE) or ""
        if not 20 <= len(nonce) <= 64:
            nonce = secrets.token_urlsafe(32)
            setattr(request.state, _NEW_NONCE_STATE, True)
        setattr(request.state, _NONCE_STATE, nonce)
    return nonce


def csrf_token(request: Request, platform: Platform) -> str:
    return _sign(platform.keys.csrf, _nonce(request))


def remember_nonce(request: Request, response: Response, platform: Platform) -> None:
    """Set the nonce cookie when this request made a new one."""
    if getattr(request.state, _NEW_NONCE_STATE, False):
        setattr(request.state, _NEW_NONCE_STATE, False)
        response.set_cookie(
            CSRF_COOKIE,
            _nonce(request),
            httponly=True,
            samesite="strict",
            secure=platform.settings.effective_public_url.startswith("https://"),
            path="/",
            max_age=60 * 60 * 24 * 30,
        )


async def verify_csrf(request: Request, platform: Platform) -> None:
    """Refuse a state change that does not carry this browser's token (403 with what to do)."""
    check_same_origin(request, platform)
    nonce = request.cookies.get(CSRF_COOKIE)
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        field = (await request.form()).get(CSRF_FIELD)
        given = field if isinstance(field, str) else None
    if not nonce or not given or not hmac.compare_digest(_sign(platform.keys.csrf, nonce), given):
        raise Forbidden(
            "This form has expired or did not come from this site; reload the page and try again.",
            code="csrf_rejected",
        )
