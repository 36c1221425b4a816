"""Administrators manage users: list, change role and quota, disable."""

from __future__ import annotations

import httpx

from mcphost.settings import Settings
from tests.support.accounts import PASSWORD, assert_error, bearer, create_token, sign_in, sign_up
from tests.support.apps import adjusted, app_client


async def test_admin_endpoints_are_forbidden_to_users(client: httpx.AsyncClient) -> None:
    admin = await sign_up(client, "ada@example.com")
    user = await sign_up(client, "bob@example.com")

    for method, path in (
        ("GET", "/api/users"),
        ("GET", f"/api/users/{admin.id}"),
        ("PATCH", f"/api/users/{admin.id}"),
        ("GET", "/api/jobs"),
    ):
        response = await client.request(method, path, json={} if method == "PATCH" else None, headers=user.headers)
        assert_error(response, 403, "admin_required")


async def test_admin_lists_users_page_by_page_and_searches(client: httpx.AsyncClient) -> None:
    admin = await sign_up(client, "admin@example.com")
    for name in ("bob", "carol", "dave"):
        await client.post("/api/auth/register", json={"email": f"{name}@example.com", "password": PASSWORD})

    first = (await client.get("/api/users?limit=3", headers=admin.headers)).json()
    second = (await client.get(f"/api/users?limit=3&cursor={first['next_cursor']}", headers=admin.headers)).json()
    found = (await client.get("/api/users?q=CAROL", headers=admin.headers)).json()

    emails = [user["email"] for user in first["items"] + second["items"]]
    assert sorted(emails) == ["admin@example.com", "bob@example.com", "carol@example.com", "dave@example.com"]
    assert len(first["items"]) == 3 and second["next_cursor"] is None
    assert [user["email"] for user in found["items"]] == ["carol@example.com"]


async def test_bad_cursor_is_a_validation_error(client: httpx.AsyncClient) -> None:
    admin = await sign_up(client, "admin@example.com")

    assert_error(await client.get("/api/users?cursor=garbage", headers=admin.headers), 422, "invalid_cursor")


async def test_admin_changes_role_and_quota(client: httpx.AsyncClient) -> None:
    admin = await sign_up(client, "admin@example.com")
    bob = await sign_up(client, "bob@example.com")

    changed = await client.patch(
        f"/api/users/{bob.id}", json={"role": "admin", "server_quota": 12}, headers=admin.headers
    )

    assert changed.status_code == 200
    assert changed.json()["role"] == "admin" and changed.json()["server_quota"] == 12
    assert (await client.get("/api/users", headers=bob.headers)).status_code == 200


async def test_disabled_user_is_locked_out_at_once(client: httpx.AsyncClient) -> None:
    admin = await sign_up(client, "admin@example.com")
    bob = await sign_up(client, "bob@example.com")
    token = await create_token(client, bob, "read")

    disabled = await client.patch(f"/api/users/{bob.id}", json={"is_active": False}, headers=admin.headers)

    assert disabled.json()["is_active"] is False
    assert_error(await client.get("/api/me", headers=bob.headers), 401, "account_disabled")
    assert_error(await client.get("/api/me", headers=bearer(token)), 401, "account_disabled")
    login = await client.post("/api/auth/login", json={"email": "bob@example.com", "password": PASSWORD})
    assert_error(login, 403, "account_disabled")

    await client.patch(f"/api/users/{bob.id}", json={"is_active": True}, headers=admin.headers)
    assert (await client.get("/api/me", headers=bearer(token))).status_code == 200


async def test_the_last_admin_cannot_be_demoted_or_disabled(client: httpx.AsyncClient) -> None:
    admin = await sign_up(client, "admin@example.com")
    bob = await sign_up(client, "bob@example.com")

    demote = await client.patch(f"/api/users/{admin.id}", json={"role": "user"}, headers=admin.headers)
    disable = await client.patch(f"/api/users/{admin.id}", json={"is_active": False}, headers=admin.headers)
    await client.patch(f"/api/users/{bob.id}", json={"role": "admin"}, headers=admin.headers)
    demote_with_another_admin = await client.patch(f"/api/users/{admin.id}", json={"role": "user"}, headers=bob.headers)

    assert_error(demote, 409, "last_admin")
    assert_error(disable, 409, "last_admin")
    assert demote_with_another_admin.json()["role"] == "user"


async def test_unknown_user_is_404_and_bad_values_422(client: httpx.AsyncClient) -> None:
    admin = await sign_up(client, "admin@example.com")

    missing = await client.get("/api/users/00000000-0000-4000-8000-000000000000", headers=admin.headers)
    not_uuid = await client.get("/api/users/nope", headers=admin.headers)
    negative = await client.patch(f"/api/users/{admin.id}", json={"server_quota": -1}, headers=admin.headers)
    bad_role = await client.patch(f"/api/users/{admin.id}", json={"role": "root"}, headers=admin.headers)

    assert_error(missing, 404, "not_found")
    for response in (not_uuid, negative, bad_role):
        assert_error(response, 422, "validation_error")


async def test_bootstrap_admin_is_created_on_first_start(settings: Settings) -> None:
    async with app_client(adjusted(settings, admin_email="Root@Example.com", admin_password=PASSWORD)) as client:
        root = await sign_in(client, "root@example.com")
        me = (await client.get("/api/me", headers=root.headers)).json()

    assert me["role"] == "admin"
