"""Every way a request to the authorization server is refused, each with the RFC's error and nothing issued: PKCE
missing, plain or wrong, redirect URIs not registered, codes replayed or expired, tokens expired, revoked or used at
another server, bad registrations and bad client authentication."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from mcphost.db.base import utcnow
from mcphost.models import OAuthCode, OAuthGrant, OAuthToken
from tests.gateway.mcp_http import McpHttp
from tests.oauth.flow import Authorization, assert_oauth_error, query_of, refresh, register, resource_of
from tests.support.accounts import Account
from tests.support.apps import platform_session

Servers = tuple[dict[str, Any], dict[str, Any]]
INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}}


async def _issued(client: httpx.AsyncClient) -> tuple[int, int]:
    """How many codes and tokens exist."""
    client.app = client._transport.app  # type: ignore[attr-defined]
    async with platform_session(client) as session:
        codes = await session.scalar(sa.select(sa.func.count()).select_from(OAuthCode))
        tokens = await session.scalar(sa.select(sa.func.count()).select_from(OAuthToken))
    return int(codes or 0), int(tokens or 0)


async def _flow(client: httpx.AsyncClient, owner: Account, servers: Servers) -> Authorization:
    registered = await register(client)
    return Authorization(client, owner, registered["client_id"], resource_of(servers[0]["slug"]))


async def test_pkce_missing_or_plain_is_refused_before_consent(
    client: httpx.AsyncClient, owner: Account, servers: Servers
) -> None:
    flow = await _flow(client, owner, servers)

    missing = await flow.open(code_challenge=None, code_challenge_method=None)
    plain = await flow.open(code_challenge_method="plain", code_challenge=flow.verifier)
    no_method = await flow.open(code_challenge_method=None)

    for answer in (missing, plain, no_method):
        assert answer.status_code == 303
        query = query_of(answer.headers["location"])
        assert query["error"] == "invalid_request" and query["state"] == flow.state and "code" not in query
    assert await _issued(client) == (0, 0)


async def test_a_wrong_or_missing_code_verifier_gets_nothing(
    client: httpx.AsyncClient, owner: Account, servers: Servers
) -> None:
    flow = await _flow(client, owner, servers)
    wrong_code = await flow.code()
    other_code = await flow.code()

    wrong = await flow.exchange(wrong_code, code_verifier="x" * 64)
    missing = await flow.exchange(other_code, code_verifier=None)

    assert_oauth_error(wrong, 400, "invalid_grant")
    assert_oauth_error(missing, 400, "invalid_request")
    assert (await _issued(client))[1] == 0


async def test_an_unregistered_redirect_uri_is_an_error_page_not_a_redirect(
    client: httpx.AsyncClient, owner: Account, servers: Servers
) -> None:
    flow = await _flow(client, owner, servers)

    elsewhere = await flow.open(redirect_uri="https://attacker.example/callback")
    other_scheme = await flow.open(redirect_uri="cursor://anysphere.cursor-retrieval/oauth/other")
    unknown_client = await flow.open(client_id="mcph_client_nobody")

    assert elsewhere.status_code == 400 and "location" not in elsewhere.headers
    assert "not one this client registered" in elsewhere.text
    assert other_scheme.status_code == 400
    assert unknown_client.status_code == 401 and "location" not in unknown_client.headers
    assert await _issued(client) == (0, 0)


async def test_loopback_redirects_match_any_port(client: httpx.AsyncClient, owner: Account, servers: Servers) -> None:
    registered = await register(client, redirect_uri="http://127.0.0.1:33418/callback", client_name="VS Code")
    flow = Authorization(
        client,
        owner,
        registered["client_id"],
        resource_of(servers[0]["slug"]),
        redirect_uri="http://127.0.0.1:50123/callback",
    )

    tokens = await flow.tokens()
    other_path = await flow.open(redirect_uri="http://127.0.0.1:50123/elsewhere")
    other_host = await flow.open(redirect_uri="http://localhost:50123/callback")

    assert tokens["access_token"]
    assert other_path.status_code == 400 and other_host.status_code == 400


async def test_a_replayed_code_is_refused_and_revokes_what_it_gave(
    client: httpx.AsyncClient, owner: Account, servers: Servers
) -> None:
    flow = await _flow(client, owner, servers)
    code = await flow.code()
    first = await flow.exchange(code)

    replay = await flow.exchange(code)
    call = await McpHttp(client, servers[0]["slug"], first.json()["access_token"]).post(INIT)

    assert first.status_code == 200
    assert_oauth_error(replay, 400, "invalid_grant")
    assert call.status_code == 401
    assert_oauth_error(await refresh(client, flow.client_id, first.json()["refresh_token"]), 400, "invalid_grant")


async def test_expired_codes_and_tokens_are_refused(
    client: httpx.AsyncClient, owner: Account, servers: Servers
) -> None:
    flow = await _flow(client, owner, servers)
    tokens = await flow.tokens()
    late_code = await flow.code()
    client.app = client._transport.app  # type: ignore[attr-defined]
    async with platform_session(client) as session:
        past = utcnow() - timedelta(seconds=1)
        await session.execute(sa.update(OAuthCode).where(OAuthCode.used_at.is_(None)).values(expires_at=past))
        await session.execute(sa.update(OAuthToken).values(expires_at=past))

    late = await flow.exchange(late_code)
    call = await McpHttp(client, servers[0]["slug"], tokens["access_token"]).post(INIT)
    renewed = await refresh(client, flow.client_id, tokens["refresh_token"])

    assert_oauth_error(late, 400, "invalid_grant")
    assert call.status_code == 401 and "expired" in call.json()["error"]["message"]
    assert_oauth_error(renewed, 400, "invalid_grant")


async def test_a_token_for_server_a_is_refused_at_server_b_and_resources_are_checked(
    client: httpx.AsyncClient, owner: Account, servers: Servers
) -> None:
    _, beta = servers
    flow = await _flow(client, owner, servers)
    tokens = await flow.tokens()

    at_b = await McpHttp(client, beta["slug"], tokens["access_token"]).post(INIT)
    foreign = await flow.open(resource="https://elsewhere.example/mcp/alpha")
    no_resource = await flow.open(resource=None)
    switched = await flow.exchange(await flow.code(), resource=resource_of(beta["slug"]))

    assert at_b.status_code == 401 and 'error="invalid_token"' in at_b.headers["www-authenticate"]
    assert query_of(foreign.headers["location"])["error"] == "invalid_target"
    assert query_of(no_resource.headers["location"])["error"] == "invalid_target"
    assert_oauth_error(switched, 400, "invalid_target")


async def test_a_revoked_authorisation_stops_its_tokens(
    client: httpx.AsyncClient, owner: Account, servers: Servers
) -> None:
    flow = await _flow(client, owner, servers)
    tokens = await flow.tokens()
    client.app = client._transport.app  # type: ignore[attr-defined]
    works = await McpHttp(client, servers[0]["slug"], tokens["access_token"]).post(INIT)
    async with platform_session(client) as session:
        await session.execute(sa.update(OAuthGrant).values(revoked_at=utcnow()))
    client.app.state.gateway.access.invalidate()  # as the revocation's event does on every replica

    refused = await McpHttp(client, servers[0]["slug"], tokens["access_token"]).post(INIT)

    assert works.status_code == 200
    assert refused.status_code == 401 and "revoked" in refused.json()["error"]["message"]


async def test_token_endpoint_errors(client: httpx.AsyncClient, owner: Account, servers: Servers) -> None:
    flow = await _flow(client, owner, servers)
    code = await flow.code()

    no_grant = await client.post("/oauth/token", data={"client_id": flow.client_id})
    unsupported = await client.post("/oauth/token", data={"grant_type": "password", "client_id": flow.client_id})
    unknown_client = await flow.exchange(code, client_id="mcph_client_nobody")
    as_json = await client.post("/oauth/token", json={"grant_type": "authorization_code"})
    repeated = await client.post(
        "/oauth/token",
        content="grant_type=authorization_code&code=a&code=b",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    bad_code = await flow.exchange("mcph_oac_made-up")

    assert_oauth_error(no_grant, 400, "invalid_request")
    assert_oauth_error(unsupported, 400, "unsupported_grant_type")
    assert_oauth_error(unknown_client, 401, "invalid_client")
    assert_oauth_error(as_json, 400, "invalid_request")
    assert_oauth_error(repeated, 400, "invalid_request")
    assert_oauth_error(bad_code, 400, "invalid_grant")


async def test_confidential_clients_authenticate(client: httpx.AsyncClient, owner: Account, servers: Servers) -> None:
    registered = await register(
        client, redirect_uri="https://claude.ai/api/mcp/auth_callback", token_endpoint_auth_method="client_secret_post"
    )
    flow = Authorization(
        client,
        owner,
        registered["client_id"],
        resource_of(servers[0]["slug"]),
        redirect_uri=registered["redirect_uris"][0],
    )
    code = await flow.code()

    without = await flow.exchange(code)
    wrong_basic = await client.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "code_verifier": flow.verifier},
        auth=(registered["client_id"], "not-the-secret"),
    )
    right = await flow.exchange(await flow.code(), client_secret=registered["client_secret"])

    assert registered["client_secret"].startswith("mcph_ocs_") and registered["client_secret_expires_at"] == 0
    assert_oauth_error(without, 401, "invalid_client")
    assert_oauth_error(wrong_basic, 401, "invalid_client")
    assert wrong_basic.headers["www-authenticate"].startswith("Basic")
    assert right.status_code == 200, right.text


async def test_bad_registrations_are_refused(client: httpx.AsyncClient) -> None:
    base = {"client_name": "x", "token_endpoint_auth_method": "none"}

    http_remote = await client.post("/oauth/register", json=base | {"redirect_uris": ["http://evil.example/cb"]})
    no_uris = await client.post("/oauth/register", json=base)
    javascript = await client.post("/oauth/register", json=base | {"redirect_uris": ["javascript:alert(1)"]})
    fragment = await client.post("/oauth/register", json=base | {"redirect_uris": ["https://app.example/cb#x"]})
    private_scheme_confidential = await client.post(
        "/oauth/register",
        json={"redirect_uris": ["cursor://a/cb"], "token_endpoint_auth_method": "client_secret_post"},
    )
    bad_method = await client.post(
        "/oauth/register",
        json=base | {"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"},
    )
    too_large = await client.post(
        "/oauth/register", json=base | {"redirect_uris": ["https://a.example/cb"], "client_name": "x" * 20_000}
    )
    not_json = await client.post("/oauth/register", content=b"[1, 2", headers={"content-type": "application/json"})

    assert_oauth_error(http_remote, 400, "invalid_redirect_uri")
    assert_oauth_error(no_uris, 400, "invalid_redirect_uri")
    assert_oauth_error(javascript, 400, "invalid_redirect_uri")
    assert_oauth_error(fragment, 400, "invalid_redirect_uri")
    assert_oauth_error(private_scheme_confidential, 400, "invalid_redirect_uri")
    assert_oauth_error(bad_method, 400, "invalid_client_metadata")
    assert_oauth_error(too_large, 413, "invalid_request")
    assert_oauth_error(not_json, 400, "invalid_request")
