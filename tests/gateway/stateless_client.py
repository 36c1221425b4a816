"""Stateless (2026-07-28) requests against the conformance fixture server hosted behind the gateway, for the tests of
what the gateway adds in that era (multi-round-trip requests, Mcp-Param headers, per-request log levels)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
import orjson

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.gateway.conformance import FIXTURE_SERVER
from tests.servers.hosting import QUICK, status_of
from tests.support.accounts import Account

VERSION = "2026-07-28"
#: What the conformance suite's client declares.
ALL_CAPABILITIES: dict[str, Any] = {"sampling": {}, "elicitation": {}, "roots": {"listChanged": True}}
NAME_HEADERS = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


def fixture_settings(home: Path, database_url: str, **gateway: Any) -> Settings:
    """The process runtime, with health checks patient enough for a loaded machine (the fixture is a Python SDK
    server: a slow ping must not get it restarted in the middle of a test)."""
    runtime = QUICK["runtime"] | {
        "default": "process",
        "sandbox": "auto",
        "start_timeout_seconds": 60,
        "health_check_interval_seconds": 2,
        "health_check_timeout_seconds": 10,
    }
    return make_settings(home, database_url, **(QUICK | {"runtime": runtime, "gateway": gateway}))


async def host_fixture(client: httpx.AsyncClient, owner: Account, *, keys: int = 1) -> tuple[str, list[str]]:
    """Deploy the conformance fixture (stdio) and wait until it runs; its slug and ``keys`` access keys."""
    source = {"type": "command", "command": [sys.executable, str(FIXTURE_SERVER)]}
    response = await client.post("/api/servers", json={"name": "fixture", "source": source}, headers=owner.headers)
    assert response.status_code == 201, response.text
    server = response.json()
    await status_of(client, owner, server["id"], "running", timeout=60)
    made = []
    for _ in range(keys):
        key = await client.post(f"/api/servers/{server['id']}/keys", json={}, headers=owner.headers)
        assert key.status_code == 201, key.text
        made.append(str(key.json()["key"]))
    return str(server["slug"]), made


async def call(
    client: httpx.AsyncClient,
    slug: str,
    key: str,
    method: str,
    params: dict[str, Any] | None = None,
    *,
    capabilities: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    request_id: int = 1,
) -> httpx.Response:
    """One stateless request with the headers and ``_meta`` the era requires (``Mcp-Name`` from the params)."""
    params = dict(params or {})
    params["_meta"] = {
        "io.modelcontextprotocol/protocolVersion": VERSION,
        "io.modelcontextprotocol/clientInfo": {"name": "gateway-tests", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": ALL_CAPABILITIES if capabilities is None else capabilities,
        **(meta or {}),
    }
    sent = {
        "authorization": f"Bearer {key}",
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": VERSION,
        "mcp-method": method,
    }
    if (name := NAME_HEADERS.get(method)) is not None:
        sent["mcp-name"] = str(params[name])
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    return await client.post(f"/mcp/{slug}", content=orjson.dumps(body), headers=sent | (headers or {}))
