"""The stateless era (2026-07-28) in front of a session-era server: discovery, the per-request checks, the
result shape, and subscriptions/listen."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.gateway.mcp_http import hosted_with_key, sse_messages
from tests.servers.hosting import QUICK
from tests.support.accounts import Account, sign_up
from tests.support.live import serve

VERSION = "2026-07-28"
META = {
    "io.modelcontextprotocol/protocolVersion": VERSION,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **QUICK)


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "owner@example.com")


async def stateless(
    client: httpx.AsyncClient, slug: str, key: str, method: str, params: dict[str, Any] | None = None, **headers: str
) -> httpx.Response:
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": {"_meta": META} | (params or {})}
    base = {
        "authorization": f"Bearer {key}",
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": VERSION,
        "mcp-method": method,
    }
    return await client.post(f"/mcp/{slug}", content=orjson.dumps(body), headers=base | headers)


async def test_discovery_and_relayed_results_in_the_new_shape(client: httpx.AsyncClient, owner: Account) -> None:
    server, key = await hosted_with_key(client, owner)

    discovered = (await stateless(client, server["slug"], key, "server/discover")).json()["result"]
    tools = (await stateless(client, server["slug"], key, "tools/list")).json()["result"]
    called = await stateless(
        client,
        server["slug"],
        key,
        "tools/call",
        {"name": "echo", "arguments": {"text": "hi"}},
        **{"mcp-name": " echo "},
    )

    assert VERSION in discovered["supportedVersions"] and "2025-11-25" in discovered["supportedVersions"]
    assert discovered["serverInfo"]["name"] == "fake"
    assert discovered["capabilities"] == {"tools": {"listChanged": True}}
    assert tools["resultType"] == "complete"
    assert (tools["ttlMs"], tools["cacheScope"]) == (0, "private")
    assert called.json()["result"]["content"] == [{"type": "text", "text": "hi"}]


@pytest.mark.parametrize(
    ("method", "params", "headers", "status", "code"),
    [
        ("tools/list", {}, {"mcp-method": "prompts/list"}, 400, -32020),
        ("tools/list", {}, {"mcp-method": "TOOLS/LIST"}, 400, -32020),
        ("tools/call", {"name": "echo"}, {"mcp-name": "other"}, 400, -32020),
        ("tools/call", {"name": "echo"}, {}, 400, -32020),
        ("tools/list", {"_meta": {}}, {}, 400, -32602),
        ("ping", {}, {}, 404, -32601),
        ("initialize", {}, {}, 404, -32601),
    ],
)
async def test_requests_that_break_the_rules_are_refused(
    client: httpx.AsyncClient,
    owner: Account,
    method: str,
    params: dict[str, Any],
    headers: dict[str, str],
    status: int,
    code: int,
) -> None:
    server, key = await hosted_with_key(client, owner)

    response = await stateless(client, server["slug"], key, method, params, **headers)

    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["id"] == 7


async def test_an_unsupported_version_names_the_supported_ones(client: httpx.AsyncClient, owner: Account) -> None:
    server, key = await hosted_with_key(client, owner)
    meta = META | {"io.modelcontextprotocol/protocolVersion": "2099-01-01"}

    unknown = await stateless(
        client, server["slug"], key, "tools/list", {"_meta": meta}, **{"mcp-protocol-version": "2099-01-01"}
    )
    mismatched = await stateless(client, server["slug"], key, "tools/list", {"_meta": meta})

    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == -32022
    assert unknown.json()["error"]["data"] == {"supported": [VERSION], "requested": "2099-01-01"}
    assert mismatched.json()["error"]["code"] == -32020


async def test_a_listen_stream_carries_the_list_changes_it_asked_for(
    app: FastAPI, owner: Account, client: httpx.AsyncClient
) -> None:
    server, key = await hosted_with_key(client, owner)
    async with serve(app, lifespan=False) as url, httpx.AsyncClient(base_url=url) as live:
        params = {"notifications": {"toolsListChanged": True, "promptsListChanged": True}}
        received: list[dict[str, Any]] = []
        acknowledged_event = asyncio.Event()

        async def listen() -> None:
            body = {
                "jsonrpc": "2.0",
                "id": "sub-1",
                "method": "subscriptions/listen",
                "params": {"_meta": META} | params,
            }
            headers = {
                "authorization": f"Bearer {key}",
                "content-type": "application/json",
                "accept": "text/event-stream",
                "mcp-protocol-version": VERSION,
                "mcp-method": "subscriptions/listen",
            }
            async with live.stream(
                "POST", f"/mcp/{server['slug']}", content=orjson.dumps(body), headers=headers
            ) as response:
                buffer = ""
                async for chunk in response.aiter_text():
                    buffer += chunk
                    received[:] = sse_messages(buffer)
                    if received:
                        acknowledged_event.set()
                    if len(received) >= 2:
                        return

        listening = asyncio.create_task(listen())
        await asyncio.wait_for(acknowledged_event.wait(), 5)
        await stateless(
            live, server["slug"], key, "tools/call", {"name": "grow", "arguments": {}}, **{"mcp-name": "grow"}
        )
        await asyncio.wait_for(listening, 5)

    acknowledged, changed = received
    assert acknowledged["method"] == "notifications/subscriptions/acknowledged"
    assert acknowledged["params"]["notifications"] == {"toolsListChanged": True}  # the server has no prompts
    assert changed["method"] == "notifications/tools/list_changed"
    assert changed["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "sub-1"
