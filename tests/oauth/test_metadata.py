"""What clients discover: the authorization server's metadata (RFC 8414, validated with authlib), the same as
OpenID-style discovery, the protected-resource metadata naming it, and the 401 challenge; and OAuth turned off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from tests.conftest import make_settings
from tests.gateway.mcp_http import McpHttp
from tests.oauth.flow import PUBLIC_URL, Authorization, register, resource_of
from tests.servers.hosting import QUICK
from tests.support.accounts import Account
from tests.support.apps import app_client


async def test_the_metadata_describes_an_mcp_authorization_server(client: httpx.AsyncClient) -> None:
    document = (await client.get("/.well-known/oauth-authorization-server")).json()
    openid = await client.get("/.well-known/openid-configuration")
    unknown_suffix = await client.get("/.well-known/oauth-authorization-server/mcp/anything")

    AuthorizationServerMetadata(document).validate()
    assert document["issuer"] == PUBLIC_URL
    assert document["authorization_endpoint"] == f"{PUBLIC_URL}/oauth/authorize"
    assert document["token_endpoint"] == f"{PUBLIC_URL}/oauth/token"
    assert document["registration_endpoint"] == f"{PUBLIC_URL}/oauth/register"
    assert document["revocation_endpoint"] == f"{PUBLIC_URL}/oauth/revoke"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["client_id_metadata_document_supported"] is True
    assert document["authorization_response_iss_parameter_supported"] is True
    assert "none" in document["token_endpoint_auth_methods_supported"]
    assert openid.json() == document
    assert unknown_suffix.status_code == 404  # the issuer has no path: a suffixed address names another issuer


async def test_resource_metadata_and_the_challenge_point_at_it(
    client: httpx.AsyncClient, servers: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    slug = servers[0]["slug"]
    resource = (await client.get(f"/.well-known/oauth-protected-resource/mcp/{slug}")).json()
    challenge = await client.post(f"/mcp/{slug}", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})

    assert resource["authorization_servers"] == [PUBLIC_URL]
    assert resource["resource"] == resource_of(slug)
    assert resource["scopes_supported"] == ["invoke"]
    assert challenge.status_code == 401
    assert challenge.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{PUBLIC_URL}/.well-known/oauth-protected-resource/mcp/{slug}", scope="invoke"'
    )


async def test_administrators_can_turn_oauth_off(
    tmp_path: Path, database_url: str, client: httpx.AsyncClient, owner: Account, servers: tuple[Any, Any]
) -> None:
    slug = servers[0]["slug"]
    registered = await register(client)
    tokens = await Authorization(client, owner, registered["client_id"], resource_of(slug)).tokens()
    await client.aclose()
    off = make_settings(tmp_path / "home", database_url, **QUICK, oauth={"enabled": False})

    async with app_client(off) as again:
        metadata = await again.get("/.well-known/oauth-authorization-server")
        resource = (await again.get(f"/.well-known/oauth-protected-resource/mcp/{slug}")).json()
        registration = await again.post("/oauth/register", json={"redirect_uris": ["https://a.example/cb"]})
        token = await again.post("/oauth/token", data={"grant_type": "refresh_token"})
        page = await again.get("/oauth/authorize?client_id=x", headers={"accept": "text/html"})
        call = await McpHttp(again, slug, tokens["access_token"]).post(
            {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}}
        )

    assert metadata.status_code == 404 and metadata.json()["error"] == "oauth_disabled"
    assert resource["authorization_servers"] == []
    assert registration.status_code == 404 and registration.json()["error"] == "oauth_disabled"
    assert token.status_code == 404 and token.json()["error"] == "oauth_disabled"
    assert page.status_code == 404 and "turned off" in page.text
    assert call.status_code == 401 and call.json()["error"]["data"]["reason"] == "oauth_disabled"


async def test_registrations_are_rate_limited(tmp_path: Path, database_url: str) -> None:
    limited = make_settings(tmp_path / "home", database_url, oauth={"registrations_per_hour": 2})
    body = {"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none"}

    async with app_client(limited) as client:
        answers = [await client.post("/oauth/register", json=body) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [201, 201, 429]
    assert answers[2].headers["retry-after"].isdigit()
