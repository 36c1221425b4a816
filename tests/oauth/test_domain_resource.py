"""A client that connects through a server's verified custom domain names ``https://{domain}/mcp`` as its resource
(that is what the domain's protected-resource metadata says): the token it gets is bound to the same server, works at
the server's endpoint, refreshes with the domain's resource, and a domain that is not verified is no resource."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from mcphost.models import CustomDomain, DomainStatus
from tests.gateway.mcp_http import McpHttp
from tests.oauth.flow import Authorization, assert_oauth_error, query_of, refresh, register
from tests.support.accounts import Account

DOMAIN = "mcp.example.test"


async def _claim(app: FastAPI, server: dict[str, Any], name: str, status: DomainStatus) -> None:
    """A domain claimed for the server (verified or not); verifying for real is the domains tests' business."""
    async with app.state.platform.db.session_scope() as session:
        session.add(CustomDomain(server_id=uuid.UUID(server["id"]), name=name, token="t" * 32, status=status))


async def test_a_verified_domain_is_a_resource_of_its_server(
    app: FastAPI, client: httpx.AsyncClient, owner: Account, servers: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    alpha, beta = servers
    await _claim(app, alpha, DOMAIN, DomainStatus.VERIFIED)
    await _claim(app, beta, "pending.example.test", DomainStatus.PENDING_VERIFICATION)
    registered = await register(client)
    flow = Authorization(client, owner, registered["client_id"], f"https://{DOMAIN}/mcp")

    tokens = await flow.tokens()
    mcp = McpHttp(client, alpha["slug"], tokens["access_token"])  # what Caddy forwards https://{domain}/mcp to
    await mcp.initialize()
    called = await mcp.call("echo", text="via the domain")
    refreshed = await refresh(
        client, registered["client_id"], tokens["refresh_token"], resource=f"https://{DOMAIN}/mcp"
    )
    at_beta = await McpHttp(client, beta["slug"], tokens["access_token"]).post(
        {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    )
    pending = await flow.open(resource="https://pending.example.test/mcp")
    unknown = await flow.open(resource="https://nobody.example.test/mcp")

    assert called["result"]["content"] == [{"type": "text", "text": "via the domain"}]
    assert refreshed.status_code == 200, refreshed.text
    assert at_beta.status_code == 401
    for refused in (pending, unknown):
        assert query_of(refused.headers["location"])["error"] == "invalid_target"
    other = await refresh(
        client, registered["client_id"], refreshed.json()["refresh_token"], resource="https://pending.example.test/mcp"
    )
    assert_oauth_error(other, 400, "invalid_target")
