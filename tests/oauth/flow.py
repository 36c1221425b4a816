"""Driving the OAuth flow by hand against an app, as a client and a signed-in browser would: registration, the
authorization request, the consent form (its hidden fields and CSRF token), the redirect back, the token endpoint."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.support.accounts import Account

PUBLIC_URL = "http://127.0.0.1:8700"  # the fixtures' effective public URL (the issuer)
CURSOR_REDIRECT = "cursor://anysphere.cursor-retrieval/oauth/user-mcphost/callback"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def pkce() -> tuple[str, str]:
    """A code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def resource_of(slug: str) -> str:
    return f"{PUBLIC_URL}/mcp/{slug}"


async def register(client: httpx.AsyncClient, redirect_uri: str = CURSOR_REDIRECT, **extra: Any) -> dict[str, Any]:
    """Dynamic Client Registration as Cursor does it: a public client with a private-use scheme."""
    body = {
        "client_name": "Cursor",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    } | extra
    response = await client.post("/oauth/register", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def query_of(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


@dataclass
class Authorization:
    """One run of the authorization code flow for a client, a user and a server."""

    client: httpx.AsyncClient
    user: Account
    client_id: str
    resource: str
    redirect_uri: str = CURSOR_REDIRECT
    verifier: str = ""
    challenge: str = ""
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    _browser: httpx.AsyncClient | None = None

    def __post_init__(self) -> None:
        if not self.verifier:
            self.verifier, self.challenge = pkce()

    def params(self, **changes: str | None) -> dict[str, str]:
        values: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": self.state,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
            "scope": "invoke",
            "resource": self.resource,
        } | changes
        return {name: value for name, value in values.items() if value is not None}

    def browser(self) -> httpx.AsyncClient:
        """The signed-in user's browser: the same app, their session cookie, HTML accepted."""
        if self._browser is None:
            self._browser = httpx.AsyncClient(
                transport=self.client._transport,
                base_url=self.client.base_url,
                cookies={"mcphost_session": self.user.token},
                headers={"accept": "text/html"},
            )
        return self._browser

    async def open(self, **changes: str | None) -> httpx.Response:
        """GET the authorization endpoint as the signed-in user's browser."""
        return await self.browser().get("/oauth/authorize?" + urlencode(self.params(**changes)))

    async def decide(self, page: httpx.Response, decision: str = "allow") -> httpx.Response:
        """Submit the consent form the page shows."""
        assert page.status_code == 200, page.text
        fields = {html.unescape(name): html.unescape(value) for name, value in _HIDDEN.findall(page.text)}
        return await self.browser().post("/oauth/authorize", data=fields | {"decision": decision})

    async def code(self, **changes: str | None) -> str:
        """Consent and return the code the redirect carries (after checking state and iss)."""
        answer = await self.decide(await self.open(**changes))
        assert answer.status_code == 303, answer.text
        location = answer.headers["location"]
        assert location.startswith(self.redirect_uri), location
        query = query_of(location)
        assert query["state"] == self.state
        assert query["iss"] == PUBLIC_URL
        assert "code" in query, query
        return query["code"]

    async def exchange(self, code: str, **changes: str | None) -> httpx.Response:
        form: dict[str, str | None] = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": self.verifier,
            "resource": self.resource,
        } | changes
        return await self.client.post("/oauth/token", data={k: v for k, v in form.items() if v is not None})

    async def tokens(self) -> dict[str, Any]:
        response = await self.exchange(await self.code())
        assert response.status_code == 200, response.text
        return dict(response.json())


async def refresh(client: httpx.AsyncClient, client_id: str, refresh_token: str, **extra: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id} | extra
    return await client.post("/oauth/token", data=form)


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    """An RFC 6749 §5.2 error answer, never cached."""
    assert response.status_code == status, response.text
    body = dict(response.json())
    assert body["error"] == error, body
    assert isinstance(body.get("error_description"), str) and body["error_description"]
    assert response.headers.get("cache-control") == "no-store"
    return body
