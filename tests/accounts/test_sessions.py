"""Signing in and out: tokens, cookies, expiry, revocation, brute-force protection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import sqlalchemy as sa
from fastapi import FastAPI

from mcphost.models import User
from mcphost.security import tokens
from mcphost.settings import Settings
from tests.support.accounts import PASSWORD, assert_error, bearer, sign_in, sign_up
from tests.support.apps import adjusted, app_client, platform_session


async def test_login_returns_a_bearer_token_and_an_httponly_samesite_cookie(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/auth/register", json={"email": "ada@example.com", "password": PASSWORD})

    response = await client.post("/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=11) < expires_at - datetime.now(UTC) <= timedelta(hours=12)
    cookie = response.headers["set-cookie"].lower()
    assert body["access_token"] in response.headers["set-cookie"]
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie


async def test_me_describes_the_signed_in_user(client: httpx.AsyncClient) -> None:
    ada = await sign_up(client, "ada@example.com")

    me = await client.get("/api/me", headers=ada.headers)

    assert me.status_code == 200
    assert me.json() | {"created_at": None, "last_login_at": None} == {
        "id": str(ada.id),
        "email": "ada@example.com",
        "role": "admin",
        "server_quota": 5,
        "is_active": True,
        "orgs": [],
        "created_at": None,
        "last_login_at": None,
    }


async def test_wrong_password_and_unknown_email_get_the_same_401(client: httpx.AsyncClient) -> None:
    await sign_up(client, "ada@example.com")

    wrong = await client.post("/api/auth/login", json={"email": "ada@example.com", "password": "not the password"})
    unknown = await client.post("/api/auth/login", json={"email": "nobody@example.com", "password": PASSWORD})

    assert assert_error(wrong, 401, "invalid_credentials") == assert_error(unknown, 401, "invalid_credentials")


async def test_requests_without_credentials_are_refused_with_a_bearer_challenge(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/me")

    assert_error(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_malformed_authorization_headers_are_401(client: httpx.AsyncClient) -> None:
    for header in ("Basic YWRhOnB3", "Bearer", "Bearer not-a-token", "Bearer eyJ.bad.jwt"):
        response = await client.get("/api/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert_error(response, 401)


async def test_logout_revokes_the_session_token_at_once(client: httpx.AsyncClient) -> None:
    ada = await sign_up(client, "ada@example.com")
    other_session = await sign_in(client, "ada@example.com")

    out = await client.post("/api/auth/logout", headers=ada.headers)

    assert out.status_code == 204
    assert "mcphost_session=" in out.headers["set-cookie"]
    assert_error(await client.get("/api/me", headers=ada.headers), 401, "session_revoked")
    assert (await client.get("/api/me", headers=other_session.headers)).status_code == 200


async def test_an_expired_session_token_gets_401_saying_it_expired(app: FastAPI, client: httpx.AsyncClient) -> None:
    ada = await sign_up(client, "ada@example.com")
    claims = tokens.decode_jwt(app.state.platform.keys.jwt, ada.token)
    expired = tokens.encode_jwt(
        app.state.platform.keys.jwt,
        tokens.SessionClaims(claims.user_id, claims.session_id, datetime.now(UTC) - timedelta(minutes=1)),
    )

    response = await client.get("/api/me", headers=bearer(expired))

    error = assert_error(response, 401, "token_expired")
    assert "sign in again" in str(error["message"])


async def test_a_token_signed_with_another_key_is_refused(client: httpx.AsyncClient) -> None:
    ada = await sign_up(client, "ada@example.com")
    forged = jwt.encode(
        {
            "sub": str(ada.id),
            "sid": str(uuid.uuid4()),
            "aud": "mcphost",
            "exp": datetime.now(UTC) + timedelta(hours=1),
        },
        "x" * 32,
        algorithm="HS256",
    )

    assert_error(await client.get("/api/me", headers=bearer(forged)), 401, "invalid_token")


async def test_cookie_authenticates_reads_and_same_origin_writes_but_not_cross_site_writes(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client, "ada@example.com")
    await client.post("/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert client.cookies.get("mcphost_session")

    read = await client.get("/api/me")
    same_origin = await client.post("/api/orgs", json={"name": "Ours"}, headers={"Origin": "http://testserver"})
    cross_site = await client.post("/api/orgs", json={"name": "Theirs"}, headers={"Origin": "https://evil.example"})

    assert read.status_code == 200
    assert same_origin.status_code == 201
    assert_error(cross_site, 403, "csrf_rejected")
    names = [org["name"] for org in (await client.get("/api/orgs")).json()]
    assert names == ["Ours"]


async def test_repeated_failed_logins_are_throttled_with_retry_after(client: httpx.AsyncClient) -> None:
    await sign_up(client, "ada@example.com")
    wrong = {"email": "ada@example.com", "password": "guess-guess-guess"}

    statuses = [(await client.post("/api/auth/login", json=wrong)).status_code for _ in range(10)]
    blocked = await client.post("/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD})

    assert statuses == [401] * 10
    assert_error(blocked, 429, "rate_limited")
    assert int(blocked.headers["retry-after"]) > 0


async def test_password_hash_is_upgraded_to_the_configured_cost_at_sign_in(settings: Settings) -> None:
    async with app_client(settings) as client:
        await sign_up(client, "ada@example.com")
    stronger = adjusted(settings, auth={"password_hash_memory_kib": 2048, "password_hash_iterations": 2})

    async with app_client(stronger) as client:
        await sign_in(client, "ada@example.com")
        async with platform_session(client) as session:
            stored = await session.scalar(sa.select(User.password_hash))

    assert stored is not None and "m=2048,t=2" in stored
