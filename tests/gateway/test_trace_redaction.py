"""A tool that prints the server's own secrets: the invocation record keeps the answer with those values redacted
(a live gateway, the process runtime and a real stdio MCP server whose ``whoami`` tool reports its environment)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from mcphost.observability.payloads import KnownSecrets, capped
from mcphost.observability.traces import MIN_SECRET_CHARS
from tests.gateway.live import FIXTURES, LiveHost, live_host, live_settings
from tests.gateway.mcp_http import McpHttp
from tests.support.waiting import eventually

ECHO_SERVER = [sys.executable, str(FIXTURES / "echo_server.py")]
API_TOKEN = "sk-live-5f0c1d2e3a4b6978"
DB_PASSWORD = "correct-horse-battery"
ROTATED_TOKEN = "sk-live-rotated-0a1b2c3d"
SHORT_PIN = "4321"


@pytest.fixture
async def host(tmp_path: Path, database_url: str) -> AsyncIterator[LiveHost]:
    async with live_host(live_settings(tmp_path / "home", database_url)) as running:
        yield running


async def records(host: LiveHost, server_id: str, count: int, tool: str | None = None) -> list[dict[str, Any]]:
    """The newest ``count`` invocation records of the server (of this tool), with params and results, once
    written (the trace writer writes in batches, off the request path)."""

    async def listed() -> list[dict[str, Any]]:
        query = {"tool": tool} if tool else {}
        page = await host.client.get(f"/api/servers/{server_id}/invocations", params=query, headers=host.admin.headers)
        return list(page.json()["items"])

    items = await eventually(listed, lambda found: len(found) >= count, what=f"{count} invocation records")
    details = []
    for item in items[:count]:
        detail = await host.client.get(f"/api/servers/{server_id}/invocations/{item['id']}", headers=host.admin.headers)
        details.append(dict(detail.json()))
    return details


async def test_the_servers_own_secret_values_are_redacted_from_its_records(host: LiveHost) -> None:
    server, key = await host.host(
        ECHO_SERVER,
        secret_env={"API_TOKEN": API_TOKEN, "PIN": SHORT_PIN},
        config={"db_password": DB_PASSWORD, "region": "eu-west-1"},
        env={"GREETING": "hello there"},
    )
    mcp = McpHttp(host.client, server["slug"], key)
    await mcp.initialize()

    whoami = await mcp.call("whoami")
    await mcp.call("echo", text=f"token={API_TOKEN}; pin {SHORT_PIN} of {SHORT_PIN}0 items")
    saved = await records(host, server["id"], 2)

    assert API_TOKEN in whoami["result"]["content"][0]["text"]  # the client itself gets the answer as it was
    stored = orjson.dumps(saved).decode()
    assert API_TOKEN not in stored and DB_PASSWORD not in stored
    assert "[redacted]" in orjson.dumps(saved[1]["result"]).decode()  # whoami's environment
    assert saved[0]["result"]["content"][0]["text"] == f"token=[redacted]; pin {SHORT_PIN} of {SHORT_PIN}0 items"
    assert saved[0]["params"]["arguments"]["text"].startswith("token=[redacted];")
    assert "hello there" in stored and "eu-west-1" in stored
    assert len(SHORT_PIN) < MIN_SECRET_CHARS  # too short to be redacted by value: everyday text stays readable


async def test_a_changed_secret_is_redacted_from_then_on(host: LiveHost) -> None:
    server, key = await host.host(ECHO_SERVER, secret_env={"API_TOKEN": API_TOKEN})
    mcp = McpHttp(host.client, server["slug"], key)
    await mcp.initialize()
    await mcp.call("echo", text=f"old {API_TOKEN}")
    await records(host, server["id"], 1)

    changed = await host.client.patch(
        f"/api/servers/{server['id']}", json={"secret_env": {"API_TOKEN": ROTATED_TOKEN}}, headers=host.admin.headers
    )
    assert changed.status_code == 200, changed.text

    async def environment() -> str:
        response = await mcp.post({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "whoami"}})
        return response.text if response.status_code == 200 else ""

    await eventually(
        environment, lambda text: ROTATED_TOKEN in text, timeout=60, what="the restart with the new secret"
    )
    await mcp.call("echo", text=f"new {ROTATED_TOKEN}, old {API_TOKEN}")
    saved = await records(host, server["id"], 2, tool="echo")

    assert saved[0]["result"]["content"][0]["text"] == "new [redacted], old [redacted]"
    assert saved[1]["result"]["content"][0]["text"] == "old [redacted]"


def test_a_secret_cut_by_the_size_limit_is_not_kept_in_part() -> None:
    """Records keep a preview of long payloads; a secret that straddles the cut is redacted whole, not halved."""
    secrets = KnownSecrets.of([API_TOKEN, SHORT_PIN], MIN_SECRET_CHARS)
    text = "x" * 84 + API_TOKEN + " and more"  # the preview (100 characters of JSON) ends 7 characters into it

    kept = capped({"text": text}, 100, secrets)
    unredacted = capped({"text": text}, 100)

    assert unredacted["preview"].endswith("x" + API_TOKEN[:7])
    assert kept["_truncated"] is True
    assert kept["preview"].endswith("x" + "[redacted]"[:7])
