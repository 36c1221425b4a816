"""The gateway when its database cannot be asked (SQLite locked under a flood of writes, PostgreSQL gone for a
moment): a credential checked a moment ago still works; one never checked gets 503 with Retry-After, never a 500."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from mcphost.gateway.access import AccessResolver
from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.gateway.mcp_http import McpHttp, hosted_with_key
from tests.servers.hosting import QUICK
from tests.support.accounts import sign_up


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **(QUICK | {"gateway": {"credential_cache_seconds": 0.2}}))


async def test_a_busy_database_keeps_known_clients_served_and_tells_new_ones_to_retry(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await sign_up(client, "owner@example.com")
    server, key = await hosted_with_key(client, owner)
    other = (await client.post(f"/api/servers/{server['id']}/keys", json={"name": "new"}, headers=owner.headers)).json()
    known = McpHttp(client, server["slug"], key)
    await known.initialize()

    async def locked(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("SELECT …", {}, Exception("database is locked"))

    monkeypatch.setattr(AccessResolver, "_lookup", locked)
    await asyncio.sleep(0.3)  # the known key's grant has expired
    served = await known.request("tools/list")
    stranger = McpHttp(client, server["slug"], other["key"])
    refused = await stranger.post({"jsonrpc": "2.0", "id": 1, "method": "ping"})

    assert "echo" in {tool["name"] for tool in served["result"]["tools"]}
    assert refused.status_code == 503 and refused.headers["retry-after"] == "2"
    assert refused.json()["error"]["data"] == {"reason": "busy"}
