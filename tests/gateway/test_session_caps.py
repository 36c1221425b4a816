"""One credential cannot take every session slot of a server: with the default settings (1,000 sessions per server,
a quarter of them per credential), a greedy access key is refused with 429 while other credentials still get in
(a live gateway, the process runtime and a real stdio MCP server)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mcphost.settings import GatewaySettings
from tests.gateway.live import FIXTURES, LiveHost, live_host, live_settings
from tests.gateway.mcp_http import McpHttp
from tests.support.accounts import create_token

ECHO_SERVER = [sys.executable, str(FIXTURES / "echo_server.py")]
DEFAULTS = GatewaySettings()


@pytest.fixture
async def host(tmp_path: Path, database_url: str) -> AsyncIterator[LiveHost]:
    # Only the rate limit is raised: the attack opens sessions faster than a client may call (200 at once).
    settings = live_settings(tmp_path / "home", database_url, gateway={"rate_limit_per_second": 100_000})
    async with live_host(settings) as running:
        yield running


async def test_a_greedy_credential_is_refused_while_others_still_get_in(host: LiveHost) -> None:
    server, greedy_key = await host.host(ECHO_SERVER)
    other_key = (
        await host.client.post(f"/api/servers/{server['id']}/keys", json={"name": "other"}, headers=host.admin.headers)
    ).json()["key"]
    token = await create_token(host.client, host.admin, "invoke")
    share = DEFAULTS.sessions_per_credential
    assert share == DEFAULTS.max_sessions_per_server // 4

    opened = [McpHttp(host.client, server["slug"], greedy_key) for _ in range(share)]
    for session in opened:
        await session.initialize()
    refused = await McpHttp(host.client, server["slug"], greedy_key).post(
        {"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}}
    )
    by_other_key = McpHttp(host.client, server["slug"], other_key)
    by_token = McpHttp(host.client, server["slug"], token)
    await by_other_key.initialize()
    await by_token.initialize()

    assert refused.status_code == 429, refused.text
    assert refused.headers["retry-after"]
    error = refused.json()["error"]
    assert refused.json()["id"] == 7
    assert error["data"]["reason"] == "sessions_per_credential"
    assert f"already holds {share} open sessions" in error["message"]
    assert (await by_other_key.call("echo", text="in"))["result"]["content"][0]["text"] == "in"
    assert (await by_token.call("echo", text="in too"))["result"]["content"][0]["text"] == "in too"
    assert (await opened[0].call("echo", text="still"))["result"]["content"][0]["text"] == "still"

    ended = await host.client.delete(opened[0].path, headers=opened[0]._headers())
    again = McpHttp(host.client, server["slug"], greedy_key)
    await again.initialize()  # a session ended: the credential has room for one more

    assert ended.status_code == 204


def test_the_share_of_one_credential_stays_below_the_servers_cap() -> None:
    with pytest.raises(ValueError, match="must be below max_sessions_per_server"):
        GatewaySettings(max_sessions_per_server=100, max_sessions_per_credential=100)
    assert GatewaySettings(max_sessions_per_server=100, max_sessions_per_credential=99).sessions_per_credential == 99
    assert GatewaySettings(max_sessions_per_server=100).sessions_per_credential == 25
