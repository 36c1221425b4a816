"""The authorization code flow end to end over the fake runtime, with a client registered as Cursor registers
(Dynamic Client Registration, a private-use redirect scheme): consent, code, token, a tool call through the gateway,
refresh rotation, revocation by the client and by the user, and the token's binding to one server."""

from __future__ import annotations

from typing import Any

import httpx

from tests.gateway.mcp_http import McpHttp
from tests.oauth.flow import (
    CURSOR_REDIRECT,
    PUBLIC_URL,
    Authorization,
    assert_oauth_error,
    query_of,
    refresh,
    register,
    resource_of,
)
from tests.support.accounts import Account, sign_up

Servers = tuple[dict[str, Any], dict[str, Any]]


async def _call(client: httpx.AsyncClient, slug: str, token: str) -> dict[str, Any]:
    mcp = McpHttp(client, slug, token)
    await mcp.initialize()
    return await mcp.call("echo", text="through oauth")


async def test_cursor_style_registration_signs_in_and_calls_a_tool(
    client: httpx.AsyncClient, owner: Account, servers: Servers
) -> None:
    alpha, _ = servers
    registered = await register(client)
    flow = Authorization(client, owner, registered["client_id"], resource_of(alpha["slug"]))

    page = await flow.open()
    answer = await flow.decide(page)
    code = query_of(answer.headers["location"])["code"]
    issued = await flow.exchange(code)
    tokens = issued.json()
    called = await _call(client, alpha["slug"], tokens["access_token"])

    assert registered["token_endpoint_auth_method"] == "none" and "client_secret" not in registered
    assert registered["redirect_uris"] == [CURSOR_REDIRECT]
    assert "Cursor" in page.text and alpha["name"] in page.text and CURSOR_REDIRECT in page.text
    assert "cursor:" in page.headers["content-security-policy"]  # the form may lead back to the app
    assert answer.headers["location"].startswith(CURSOR_REDIRECT + "?")
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    assert tokens["token_type"] == "Bearer" and tokens["scope"] == "invoke"
    assert tokens["access_token"].startswith("mcph_oat_") and tokens["refresh_token"].startswith("mcph_ort_")
    assert tokens["expires_in"] == 3600
    assert called["result"]["content"] == [{"type": "text", "text": "through oauth"}]


async def test_the_token_is_refused_by_every_other_server(
    client: httpx.AsyncClient, owner: Account, servers: Servers
) -> None:
    alpha, beta = servers
    registered = await register(client)
    tokens = await Authorization(client, owner, registered["client_id"], resource_of(alpha["slug"])).tokens()

    elsewhere = await McpHttp(client, beta["slug"], tokens["access_token"]).post(
        {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}}
    )

    assert elsewhere.status_code == 401
    challenge = elsewhere.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge
    assert f'resource_metadata="{PUBLIC_URL}/.well-known/oauth-protected-resource/mcp/{beta["slug"]}"' in challenge
    assert 'scope="invoke"' in challenge


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_sign_in(
    client: httpx.AsyncClient, owner: Account, servers: Servers
) -> None:
    alpha, _ = servers
    registered = await register(client)
    first = await Authorization(client, owner, registered["client_id"], resource_of(alpha["slug"])).tokens()

    renewed = await refresh(
        client, registered["client_id"], first["refresh_token"], resource=resource_of(alpha["slug"])
    )
    second = renewed.json()
    works = await _call(client, alpha["slug"], second["access_token"])
    replayed = await refresh(client, registered["client_id"], first["refresh_token"])
    after_replay = await refresh(client, registered["client_id"], second["refresh_token"])
    revoked_access = await McpHttp(client, alpha["slug"], second["access_token"]).post(
        {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}}
    )

    assert renewed.status_code == 200, renewed.text
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    assert works["result"]["content"][0]["text"] == "through oauth"
    assert_oauth_error(replayed, 400, "invalid_grant")
    assert_oauth_error(after_replay, 400, "invalid_grant")  # the whole family went with the replay
    assert revoked_access.status_code == 401


async def test_a_refresh_for_another_resource_is_refused(
    client: httpx.AsyncClient, owner: Account, servers: Servers
) -> None:
    alpha, beta = servers
    registered = await register(client)
    tokens = await Authorization(client, owner, registered["client_id"], resource_of(alpha["slug"])).tokens()

    elsewhere = await refresh(
        client, registered["client_id"], tokens["refresh_token"], resource=resource_of(beta["slug"])
    )

    assert_oauth_error(elsewhere, 400, "invalid_target")


async def test_denying_sends_access_denied_back_and_issues_nothing(
    client: httpx.AsyncClient, owner: Account, servers: Servers
) -> None:
    alpha, _ = servers
    registered = await register(client)
    flow = Authorization(client, owner, registered["client_id"], resource_of(alpha["slug"]))

    answer = await flow.decide(await flow.open(), decision="deny")
    apps = await client.get("/api/me/oauth/apps", headers=owner.headers)

    query = query_of(answer.headers["location"])
    assert answer.status_code == 303
    assert query["error"] == "access_denied" and query["state"] == flow.state and query["iss"] == PUBLIC_URL
    assert "code" not in query
    assert apps.json() == []


async def test_the_client_revokes_its_tokens(client: httpx.AsyncClient, owner: Account, servers: Servers) -> None:
    alpha, _ = servers
    registered = await register(client)
    tokens = await Authorization(client, owner, registered["client_id"], resource_of(alpha["slug"])).tokens()

    revoked = await client.post(
        "/oauth/revoke", data={"token": tokens["refresh_token"], "client_id": registered["client_id"]}
    )
    unknown = await client.post(
        "/oauth/revoke", data={"token": "mcph_ort_nothing", "client_id": registered["client_id"]}
    )
    call = await McpHttp(client, alpha["slug"], tokens["access_token"]).post(
        {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}}
    )
    renewed = await refresh(client, registered["client_id"], tokens["refresh_token"])

    assert revoked.status_code == 200 and unknown.status_code == 200
    assert call.status_code == 401
    assert_oauth_error(renewed, 400, "invalid_grant")


async def test_users_see_and_revoke_the_apps_they_authorised(
    client: httpx.AsyncClient, owner: Account, servers: Servers
) -> None:
    alpha, _ = servers
    registered = await register(client)
    tokens = await Authorization(client, owner, registered["client_id"], resource_of(alpha["slug"])).tokens()
    stranger = await sign_up(client, "stranger@example.com")

    apps = (await client.get("/api/me/oauth/apps", headers=owner.headers)).json()
    strangers = (await client.get("/api/me/oauth/apps", headers=stranger.headers)).json()
    not_theirs = await client.delete(f"/api/me/oauth/apps/{apps[0]['id']}", headers=stranger.headers)
    revoked = await client.delete(f"/api/me/oauth/apps/{apps[0]['id']}", headers=owner.headers)
    call = await McpHttp(client, alpha["slug"], tokens["access_token"]).post(
        {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}}
    )
    after = (await client.get("/api/me/oauth/apps", headers=owner.headers)).json()

    assert [(app["client_name"], app["server_slug"], app["scopes"]) for app in apps] == [
        ("Cursor", alpha["slug"], ["invoke"])
    ]
    assert apps[0]["registration"] == "registered"
    assert strangers == []
    assert not_theirs.status_code == 404
    assert revoked.status_code == 204
    assert call.status_code == 401
    assert after == []


async def test_a_user_authorises_only_servers_they_may_call(
    client: httpx.AsyncClient, owner: Account, servers: Servers
) -> None:
    alpha, _ = servers
    stranger = await sign_up(client, "stranger@example.com")
    registered = await register(client)
    flow = Authorization(client, stranger, registered["client_id"], resource_of(alpha["slug"]))

    answer = await flow.open()

    assert answer.status_code == 303
    assert query_of(answer.headers["location"])["error"] == "invalid_target"


async def test_anonymous_visitors_are_sent_to_sign_in_and_back(
    client: httpx.AsyncClient, owner: Account, servers: Servers
) -> None:
    alpha, _ = servers
    registered = await register(client)
    flow = Authorization(client, owner, registered["client_id"], resource_of(alpha["slug"]))

    client.cookies.clear()  # signing up through the API left a session cookie
    answer = await client.get("/oauth/authorize", params=flow.params(), headers={"accept": "text/html"})

    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith("/login?next=/oauth/authorize%3F")
    assert "code_challenge" in location
