"""How long a credential opens a server's endpoint, and what it learns about names it cannot use.

An access key acts for the account that created it: it stops working as soon as that account may no longer use the
server (disabled, removed from the organisation, lowered to viewer), through the gateway's credential cache at once
(the cache is set to an hour here, so only its invalidation can explain a refusal). Viewers of an organisation read
its servers; members call them, on the endpoint and on ``/invoke`` alike. A key answers 404 for every name but its
own server's; a token answers 404 alike for unknown names and servers its user cannot see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.gateway.mcp_http import McpHttp
from tests.servers.hosting import QUICK, deploy, status_of
from tests.support.accounts import Account, assert_error, bearer, create_token, sign_up

INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    gateway = {"credential_cache_seconds": 3600, "rate_limit_per_second": 100, "rate_limit_burst": 100}
    return make_settings(tmp_path / "home", database_url, **QUICK, gateway=gateway)


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "admin@example.com")


@pytest.fixture
async def owner(client: httpx.AsyncClient, admin: Account) -> Account:
    return await sign_up(client, "owner@example.com")


@pytest.fixture
async def mia(client: httpx.AsyncClient, admin: Account) -> Account:
    return await sign_up(client, "mia@example.com")


async def _org_server(client: httpx.AsyncClient, owner: Account, member: Account, role: str) -> dict[str, Any]:
    org = (await client.post("/api/orgs", json={"name": "Team"}, headers=owner.headers)).json()
    added = await client.post(
        f"/api/orgs/{org['id']}/members", json={"email": member.email, "role": role}, headers=owner.headers
    )
    assert added.status_code == 201, added.text
    server = await deploy(client, owner, org_id=org["id"])
    await status_of(client, owner, server["id"], "running")
    return server


async def _key(client: httpx.AsyncClient, server: dict[str, Any], by: Account, name: str = "laptop") -> str:
    created = await client.post(f"/api/servers/{server['id']}/keys", json={"name": name}, headers=by.headers)
    assert created.status_code == 201, created.text
    return str(created.json()["key"])


async def _calls(client: httpx.AsyncClient, slug: str, key: str) -> httpx.Response:
    return await McpHttp(client, slug, key).post(INIT)


async def _keys(client: httpx.AsyncClient, server: dict[str, Any], by: Account) -> dict[str, dict[str, Any]]:
    listed = (await client.get(f"/api/servers/{server['id']}/keys", headers=by.headers)).json()
    return {key["name"]: key for key in listed}


async def test_a_key_stops_working_when_its_creator_is_removed_from_the_org(
    client: httpx.AsyncClient, owner: Account, mia: Account
) -> None:
    server = await _org_server(client, owner, mia, "member")
    key = await _key(client, server, mia)
    session = McpHttp(client, server["slug"], key)
    await session.initialize()  # works, and is now in the credential cache

    removed = await client.delete(f"/api/orgs/{server['org_id']}/members/{mia.id}", headers=owner.headers)
    refused = await session.post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    fresh = await _calls(client, server["slug"], key)

    assert removed.status_code == 204
    assert refused.status_code == 401 and fresh.status_code == 401
    assert refused.json()["error"]["data"]["reason"] == "key_creator_lost_access"
    assert "can no longer use this server" in refused.json()["error"]["message"]
    keys = await _keys(client, server, owner)
    assert keys["laptop"]["created_by_email"] == mia.email and keys["laptop"]["creator_has_access"] is False
    assert keys["default"]["created_by_email"] == owner.email and keys["default"]["creator_has_access"] is True


async def test_a_key_follows_its_creators_role_and_account(
    client: httpx.AsyncClient, admin: Account, owner: Account, mia: Account
) -> None:
    server = await _org_server(client, owner, mia, "member")
    key = await _key(client, server, mia)
    members = f"/api/orgs/{server['org_id']}/members/{mia.id}"
    assert (await _calls(client, server["slug"], key)).status_code == 200

    await client.patch(members, json={"role": "viewer"}, headers=owner.headers)
    as_viewer = await _calls(client, server["slug"], key)
    await client.patch(members, json={"role": "member"}, headers=owner.headers)
    member_again = await _calls(client, server["slug"], key)
    await client.patch(f"/api/users/{mia.id}", json={"is_active": False}, headers=admin.headers)
    disabled = await _calls(client, server["slug"], key)
    await client.patch(f"/api/users/{mia.id}", json={"is_active": True}, headers=admin.headers)
    enabled = await _calls(client, server["slug"], key)

    assert [as_viewer.status_code, member_again.status_code, disabled.status_code, enabled.status_code] == [
        401,
        200,
        401,
        200,
    ]


async def test_a_personal_servers_keys_stop_with_their_owners_account(
    client: httpx.AsyncClient, admin: Account, owner: Account
) -> None:
    server = await deploy(client, owner)
    await status_of(client, owner, server["id"], "running")
    assert (await _calls(client, server["slug"], server["access_key"])).status_code == 200

    await client.patch(f"/api/users/{owner.id}", json={"is_active": False}, headers=admin.headers)
    refused = await _calls(client, server["slug"], server["access_key"])

    assert refused.status_code == 401
    keys = await _keys(client, server, admin)
    assert keys["default"]["creator_has_access"] is False


async def test_viewers_read_members_invoke_on_the_endpoint_and_on_invoke(
    client: httpx.AsyncClient, owner: Account, mia: Account
) -> None:
    server = await _org_server(client, owner, mia, "viewer")
    token = await create_token(client, mia, "read", "invoke")
    invoke = f"/api/servers/{server['id']}/invoke"
    call = {"method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"}}}

    endpoint = await client.post(
        f"/mcp/{server['slug']}", json=INIT, headers=bearer(token) | {"accept": "application/json, text/event-stream"}
    )
    playground = await client.post(invoke, json=call, headers=mia.headers)
    readable = await client.get(f"/api/servers/{server['id']}/capabilities", headers=mia.headers)
    await client.patch(f"/api/orgs/{server['org_id']}/members/{mia.id}", json={"role": "member"}, headers=owner.headers)
    as_member = await client.post(invoke, json=call, headers=mia.headers)

    assert endpoint.status_code == 403
    assert endpoint.json()["error"]["data"]["reason"] == "insufficient_role"
    assert_error(playground, 403, "insufficient_role")
    assert readable.status_code == 200
    assert as_member.status_code == 200 and as_member.json()["result"]["content"][0]["text"] == "hi"
    assert (await _calls(client, server["slug"], token)).status_code == 200


async def test_what_each_caller_learns_about_names_it_cannot_use(
    client: httpx.AsyncClient, owner: Account, mia: Account
) -> None:
    mine = await deploy(client, owner, name="time")
    other_of_mine = await deploy(client, owner, name="other", start=False)
    invisible = await deploy(client, mia, name="secret", start=False)
    await status_of(client, owner, mine["id"], "running")
    token = await create_token(client, owner, "invoke")
    names = {"unknown": "tme", "invisible": invisible["slug"], "another of mine": other_of_mine["slug"]}
    callers = {
        "anonymous": {},
        "wrong key": bearer("mcph_sk_not-a-key-at-all"),
        "key of time": bearer(mine["access_key"]),
        "token": bearer(token),
    }

    seen: dict[tuple[str, str], tuple[int, str, str]] = {}
    for caller, headers in callers.items():
        for what, slug in names.items():
            response = await client.post(
                f"/mcp/{slug}", json=INIT, headers=headers | {"accept": "application/json, text/event-stream"}
            )
            error = response.json().get("error", {})
            text = str(error.get("message", "")).replace(f"'{slug}'", "'NAME'")
            seen[caller, what] = (response.status_code, str(error.get("data", {}).get("reason")), text)

    for caller in callers:
        # An unknown name and another user's server look the same to every caller.
        assert seen[caller, "unknown"] == seen[caller, "invisible"], caller
    assert seen["anonymous", "unknown"][:2] == (401, "missing_token")
    assert seen["wrong key", "unknown"][:2] == (401, "invalid_token")
    assert seen["key of time", "unknown"][:2] == (404, "not_found")
    assert "it is a key of /mcp/time" in seen["key of time", "unknown"][2]
    # A key reaches its own server only: the owner's other server is "not found" for it too, in the same words.
    assert seen["key of time", "another of mine"] == seen["key of time", "unknown"]
    assert seen["token", "unknown"][:2] == (404, "not_found")
    assert seen["token", "another of mine"][0] != 404  # visible to the token's user (stopped: 503, not a 404)
