"""Abandoned sessions do not lock a per_session server: at its instance cap the least recently used idle instance
is ended for a new client, its session is gone (404, so its client initialises again), and the eviction is counted.
The cap and the idle time are the server's own settings. A live gateway, the process runtime and a real stdio MCP
server."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.live import FIXTURES, LiveHost, live_host, live_settings
from tests.gateway.mcp_http import McpHttp
from tests.support.waiting import eventually

ECHO_SERVER = [sys.executable, str(FIXTURES / "echo_server.py")]
INITIALIZE = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}}


@pytest.fixture
async def host(tmp_path: Path, database_url: str) -> AsyncIterator[LiveHost]:
    # A short default idle time (the reaper then looks every second): servers without their own idle time end
    # unused sessions after 2 s.
    settings = live_settings(tmp_path / "home", database_url, gateway={"session_idle_seconds": 2})
    async with live_host(settings) as running:
        yield running


async def echo(session: McpHttp, text: str) -> Any:
    response = await session.post(
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": text}}}
    )
    return response.status_code, response.json()


async def server_read(host: LiveHost, server_id: str) -> dict[str, Any]:
    return dict((await host.client.get(f"/api/servers/{server_id}", headers=host.admin.headers)).json())


async def test_at_the_cap_the_least_recently_used_idle_instance_makes_room(host: LiveHost) -> None:
    server, key = await host.host(ECHO_SERVER, isolation="per_session", max_instances=3, idle_seconds=600)
    first, second, third = (McpHttp(host.client, server["slug"], key) for _ in range(3))
    for session in (first, second, third):
        await session.initialize()  # each starts its own instance
    await echo(second, "used")
    await echo(third, "used")  # the first, abandoned, is now the least recently used

    newcomer = McpHttp(host.client, server["slug"], key)
    await newcomer.initialize()

    assert (await echo(first, "gone?"))[0] == 404
    for session in (second, third, newcomer):
        assert await echo(session, "here") == (200, {"jsonrpc": "2.0", "id": 1, "result": _text("here")})
    counted = await eventually(
        lambda: server_read(host, server["id"]), lambda read: read["evictions"] == 1, what="the eviction counted"
    )
    assert (counted["max_instances"], counted["idle_seconds"]) == (3, 600)

    await first.initialize()  # the evicted client starts over: its new session takes the second's place
    assert await echo(first, "back") == (200, {"jsonrpc": "2.0", "id": 1, "result": _text("back")})
    assert (await echo(second, "gone?"))[0] == 404
    await eventually(lambda: server_read(host, server["id"]), lambda read: read["evictions"] == 2, what="2 evictions")
    usage = await host.client.get(
        f"/api/servers/{server['id']}/metrics", params={"kind": "evict"}, headers=host.admin.headers
    )
    assert usage.json()["totals"].get("evict") == 2, usage.text
    assert usage.json()["events"][0]["data"]["cap"] == 3
    prometheus = (await host.client.get("/metrics")).text
    assert f'mcphost_instance_evictions_total{{server="{server["slug"]}"}} 2.0' in prometheus


async def test_when_every_instance_is_busy_a_new_client_is_refused(host: LiveHost) -> None:
    server, key = await host.host(ECHO_SERVER, isolation="per_session", max_instances=2, idle_seconds=600)
    busy = [McpHttp(host.client, server["slug"], key) for _ in range(2)]
    for session in busy:
        await session.initialize()
    calls = [
        asyncio.create_task(session.request("tools/call", {"name": "sleep", "arguments": {"seconds": 3}}))
        for session in busy
    ]
    await asyncio.sleep(0.5)  # both calls are in flight (the sleep tool answers after 3 s)

    refused = await McpHttp(host.client, server["slug"], key).post(INITIALIZE)
    answers = await asyncio.gather(*calls)
    admitted = McpHttp(host.client, server["slug"], key)
    await admitted.initialize()  # both idle again: one is evicted for it

    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "2"
    assert refused.json()["error"]["data"]["reason"] == "instance_unavailable"
    assert "all are busy" in refused.json()["error"]["message"]
    assert [answer["result"]["content"][0]["text"] for answer in answers] == ["slept", "slept"]
    assert (await echo(admitted, "in"))[0] == 200


async def test_the_cap_and_idle_time_are_the_servers_own(host: LiveHost) -> None:
    patient, key = await host.host(ECHO_SERVER, isolation="per_session", idle_seconds=600)
    hasty, hasty_key = await host.host(ECHO_SERVER, isolation="per_session")  # the gateway's default: 2 s
    kept, dropped = McpHttp(host.client, patient["slug"], key), McpHttp(host.client, hasty["slug"], hasty_key)
    await kept.initialize()
    await dropped.initialize()

    await eventually(
        lambda: log_text(host, hasty["id"]), lambda text: "instance stopped" in text, what="the default idle end"
    )  # watched in the logs: a request would keep the session in use
    assert (await echo(dropped, "idle"))[0] == 404
    assert "instance stopped" not in await log_text(host, patient["id"])
    assert (await echo(kept, "kept"))[0] == 200

    changed = await host.client.patch(
        f"/api/servers/{patient['id']}", json={"max_instances": 1}, headers=host.admin.headers
    )
    newcomer = McpHttp(host.client, patient["slug"], key)
    await newcomer.initialize()  # one instance at most now: the idle one makes room, without a restart
    reset = await host.client.patch(
        f"/api/servers/{patient['id']}", json={"max_instances": None, "idle_seconds": None}, headers=host.admin.headers
    )
    invalid = await host.client.patch(
        f"/api/servers/{patient['id']}", json={"idle_seconds": 1}, headers=host.admin.headers
    )

    assert changed.status_code == 200 and changed.json()["max_instances"] == 1
    assert (await echo(kept, "evicted"))[0] == 404
    assert (await echo(newcomer, "in"))[0] == 200
    assert (reset.json()["max_instances"], reset.json()["idle_seconds"]) == (None, None)
    assert reset.json()["restart_count"] == 0 and reset.json()["status"] == "running"
    assert invalid.status_code == 422


async def log_text(host: LiveHost, server_id: str) -> str:
    lines = await host.client.get(f"/api/servers/{server_id}/logs", headers=host.admin.headers)
    return "\n".join(line["line"] for line in lines.json())


def _text(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": False}
