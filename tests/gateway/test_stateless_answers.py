"""What a stateless (2026-07-28) client gets from a session-era server behind the gateway besides results: the HTTP
status the era gives an error, log messages only when the request asked for them, caching hints on discovery."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mcphost.settings import Settings
from tests.gateway.mcp_http import sse_messages
from tests.gateway.stateless_client import call, fixture_settings, host_fixture
from tests.support.accounts import sign_up

LEVEL = "io.modelcontextprotocol/logLevel"
LOGGING_TOOL = {"name": "test_logging_tool", "arguments": {}}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return fixture_settings(tmp_path / "home", database_url)


async def test_errors_statuses_logs_and_discovery(client: httpx.AsyncClient) -> None:
    owner = await sign_up(client, "owner@example.com")
    slug, (key,) = await host_fixture(client, owner)

    unknown = await call(client, slug, key, "unknown/method")
    quiet = await call(client, slug, key, "tools/call", LOGGING_TOOL)
    chatty = await call(client, slug, key, "tools/call", LOGGING_TOOL, meta={LEVEL: "info"})
    warnings_only = await call(client, slug, key, "tools/call", LOGGING_TOOL, meta={LEVEL: "warning"})
    bad_level = await call(client, slug, key, "tools/call", LOGGING_TOOL, meta={LEVEL: "loud"})
    discovered = await call(client, slug, key, "server/discover")

    assert unknown.status_code == 404  # the server's "Method not found", with the status the era requires
    assert unknown.json()["error"]["code"] == -32601
    assert quiet.headers["content-type"].startswith("application/json")  # no log messages: one JSON answer
    assert quiet.json()["result"]["content"][0]["text"] == "Logged two messages."

    def levels(response: httpx.Response) -> list[str]:
        return [m["params"]["level"] for m in sse_messages(response.text) if m.get("method") == "notifications/message"]

    assert levels(chatty) == ["info", "warning"]
    assert levels(warnings_only) == ["warning"]
    assert sse_messages(chatty.text)[-1]["result"]["content"][0]["text"] == "Logged two messages."
    assert bad_level.status_code == 400
    assert bad_level.json()["error"]["code"] == -32602
    result = discovered.json()["result"]
    assert (result["ttlMs"], result["cacheScope"]) == (0, "private")
