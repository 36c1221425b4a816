"""Personal access tokens: shown once, hashed at rest, scoped, revocable, expiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from mcphost.models import ApiToken
from tests.support.accounts import assert_error, bearer, create_token, sign_up


async def test_token_is_shown_once_and_stored_only_as_a_hash(app: FastAPI, client: httpx.AsyncClient) -> None:
    ada = await sign_up(client, "ada@example.com")

    created = await client.post("/api/tokens", json={"name": "ci", "scopes": ["read", "write"]}, headers=ada.headers)
    listed = await client.get("/api/tokens", headers=ada.headers)

    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("mcph_pat_") and secret.startswith(created.json()["prefix"])
    assert listed.json()[0]["name"] == "ci" and "token" not in listed.json()[0]
    assert secret not in listed.text
    async with app.state.platform.db.session_scope() as session:
        stored = (await session.scalars(sa.select(ApiToken))).one()
    assert secret not in {stored.token_hash, stored.prefix} and len(stored.token_hash) == 64


async def test_token_authenticates_and_records_when_it_was_last_used(client: httpx.AsyncClient) -> None:
    ada = await sign_up(client, "ada@example.com")
    token = await create_token(client, ada, "read")

    me = await client.get("/api/me", headers=bearer(token))
    listed = (await client.get("/api/tokens", headers=ada.headers)).json()

    assert me.json()["email"] == "ada@example.com"
    last_used = datetime.fromisoformat(listed[0]["last_used_at"])
    assert datetime.now(UTC) - last_used < timedelta(minutes=1)


async def test_read_token_cannot_write(client: httpx.AsyncClient) -> None:
    ada = await sign_up(client, "ada@example.com")
    token = await create_token(client, ada, "read")

    response = await client.post("/api/orgs", json={"name": "Acme"}, headers=bearer(token))

    error = assert_error(response, 403, "insufficient_scope")
    assert "'write'" in str(error["message"])


async def test_invoke_only_token_cannot_read_the_api(client: httpx.AsyncClient) -> None:
    ada = await sign_up(client, "ada@example.com")
    token = await create_token(client, ada, "invoke")

    assert_error(await client.get("/api/me", headers=bearer(token)), 403, "insufficient_scope")


async def test_revoked_token_stops_working_at_once(client: httpx.AsyncClient) -> None:
    ada = await sign_up(client, "ada@example.com")
    created = (await client.post("/api/tokens", json={"name": "x", "scopes": ["read"]}, headers=ada.headers)).json()
    assert (await client.get("/api/me", headers=bearer(created["token"]))).status_code == 200

    revoked = await client.delete(f"/api/tokens/{created['id']}", headers=ada.headers)

    assert revoked.status_code == 204
    assert_error(await client.get("/api/me", headers=bearer(created["token"])), 401, "token_revoked")
    assert (await client.get("/api/tokens", headers=ada.headers)).json() == []
    with_revoked = (await client.get("/api/tokens?include_revoked=true", headers=ada.headers)).json()
    assert with_revoked[0]["revoked_at"] is not None


async def test_expired_token_gets_401_saying_it_expired(app: FastAPI, client: httpx.AsyncClient) -> None:
    ada = await sign_up(client, "ada@example.com")
    token = await create_token(client, ada, "read", expires_in_days=1)
    async with app.state.platform.db.session_scope() as session:
        await session.execute(sa.update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))

    error = assert_error(await client.get("/api/me", headers=bearer(token)), 401, "token_expired")
    assert "create a new one" in str(error["message"])


async def test_token_lifetime_is_bounded_and_scopes_validated(client: httpx.AsyncClient) -> None:
    ada = await sign_up(client, "ada@example.com")

    too_long = await client.post(
        "/api/tokens", json={"name": "x", "scopes": ["read"], "expires_in_days": 3650}, headers=ada.headers
    )
    unknown_scope = await client.post("/api/tokens", json={"name": "x", "scopes": ["root"]}, headers=ada.headers)
    no_scope = await client.post("/api/tokens", json={"name": "x", "scopes": []}, headers=ada.headers)
    blank_name = await client.post("/api/tokens", json={"name": "  ", "scopes": ["read"]}, headers=ada.headers)

    assert "365 days" in str(assert_error(too_long, 422, "validation_error")["message"])
    for response in (unknown_scope, no_scope, blank_name):
        assert_error(response, 422, "validation_error")


async def test_only_admins_get_admin_scoped_tokens(client: httpx.AsyncClient) -> None:
    admin = await sign_up(client, "ada@example.com")
    user = await sign_up(client, "bob@example.com")

    by_user = await client.post("/api/tokens", json={"name": "x", "scopes": ["admin"]}, headers=user.headers)
    by_admin = await client.post("/api/tokens", json={"name": "x", "scopes": ["admin"]}, headers=admin.headers)

    assert_error(by_user, 403, "insufficient_role")
    assert by_admin.status_code == 201


async def test_a_token_cannot_mint_a_broader_token(client: httpx.AsyncClient) -> None:
    ada = await sign_up(client, "ada@example.com")
    writer = await create_token(client, ada, "read", "write")

    broader = await client.post("/api/tokens", json={"name": "x", "scopes": ["read", "invoke"]}, headers=bearer(writer))
    same = await client.post("/api/tokens", json={"name": "x", "scopes": ["read"]}, headers=bearer(writer))

    assert_error(broader, 403, "insufficient_scope")
    assert same.status_code == 201


async def test_admin_powers_need_the_admin_scope_on_tokens(client: httpx.AsyncClient) -> None:
    admin = await sign_up(client, "ada@example.com")
    plain = await create_token(client, admin, "read", "write")
    powerful = await create_token(client, admin, "read", "admin")

    assert_error(await client.get("/api/users", headers=bearer(plain)), 403, "insufficient_scope")
    assert (await client.get("/api/users", headers=bearer(powerful))).status_code == 200


async def test_users_cannot_see_or_revoke_each_others_tokens(client: httpx.AsyncClient) -> None:
    ada = await sign_up(client, "ada@example.com")
    bob = await sign_up(client, "bob@example.com")
    created = (await client.post("/api/tokens", json={"name": "x", "scopes": ["read"]}, headers=ada.headers)).json()

    assert (await client.get("/api/tokens", headers=bob.headers)).json() == []
    assert_error(await client.delete(f"/api/tokens/{created['id']}", headers=bob.headers), 404, "not_found")
    assert (await client.get("/api/me", headers=bearer(created["token"]))).status_code == 200
