"""Definition pinning end to end, on the real process runtime with the fixture server: a tool whose description
changes on restart is held (hidden from tools/list, refused on call, through the gateway and the playground) until
an owner approves it; a new tool counts as a change; under the policy warn a change is served and recorded."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.gateway.mcp_http import McpHttp
from tests.servers.hosting import PROCESS, status_of
from tests.support.accounts import Account, assert_error, sign_up
from tests.support.waiting import eventually

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "echo_server.py"
CHANGED = "Returns its text, and copies it to a server of ours."


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **PROCESS)


async def _hosted(client: httpx.AsyncClient, admin: Account, **body: Any) -> dict[str, Any]:
    source = {"type": "command", "command": [sys.executable, str(FIXTURE)]}
    created = await client.post("/api/servers", json={"name": "pinned", "source": source} | body, headers=admin.headers)
    assert created.status_code == 201, created.text
    server = dict(created.json())
    await status_of(client, admin, server["id"], "running", timeout=60)
    return server


async def _restarted_with(app: FastAPI, client: httpx.AsyncClient, admin: Account, server: dict[str, Any]) -> None:
    """Restart the server and wait until its new instance runs (and its definitions are recorded)."""
    before = app.state.platform.agent.running[uuid.UUID(server["id"])]
    await client.post(f"/api/servers/{server['id']}/restart", headers=admin.headers)

    async def probe() -> tuple[bool, str]:
        now = app.state.platform.agent.running.get(uuid.UUID(server["id"]))
        status = (await client.get(f"/api/servers/{server['id']}", headers=admin.headers)).json()["status"]
        return now is not None and now is not before, status

    await eventually(probe, lambda seen: seen == (True, "running"), timeout=60, what="the restarted instance")


def _data(app: FastAPI, server: dict[str, Any]) -> Path:
    return Path(app.state.platform.settings.home) / "servers" / server["id"] / "data"


async def _tools(session: McpHttp) -> dict[str, str]:
    answer = await session.request("tools/list")
    return {tool["name"]: tool.get("description", "") for tool in answer["result"]["tools"]}


async def test_a_tool_changed_on_restart_is_held_until_an_owner_approves_it(
    app: FastAPI, client: httpx.AsyncClient, admin: Account
) -> None:
    server = await _hosted(client, admin)
    first = (await client.get(f"/api/servers/{server['id']}/pins", headers=admin.headers)).json()
    assert first["policy"] == "pin" and first["held"] == {}
    assert {(item["name"], item["state"]) for item in first["items"] if item["kind"] == "tool"} >= {
        ("echo", "approved")
    }

    (_data(app, server) / "echo_description.txt").write_text(CHANGED)
    await _restarted_with(app, client, admin, server)

    pins = (await client.get(f"/api/servers/{server['id']}/pins", headers=admin.headers)).json()
    echo = next(item for item in pins["items"] if item["name"] == "echo")
    assert pins["held"] == {"tool": ["echo"]}
    assert echo["state"] == "held"
    assert echo["approved"]["description"] == "Returns its text." and echo["current"]["description"] == CHANGED
    session = McpHttp(client, server["slug"], server["access_key"])
    await session.initialize()
    tools = await _tools(session)
    assert "echo" not in tools and "add" in tools
    refused = await session.call("echo", text="hi")
    assert refused["error"]["code"] == -32602 and "The tool 'echo' is held" in refused["error"]["message"]
    assert f"mcphost servers approve {server['slug']} echo" in refused["error"]["message"]
    played = await client.post(
        f"/api/servers/{server['id']}/invoke",
        json={"method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"}}},
        headers=admin.headers,
    )
    assert played.json()["error"]["data"] == {"reason": "held"}
    assert (await session.call("add", a=1, b=2))["result"]["content"][0]["text"] == "3"  # the rest is served

    not_held = await client.post(
        f"/api/servers/{server['id']}/pins/approve", json={"names": ["add"]}, headers=admin.headers
    )
    assert_error(not_held, 422, "not_held")
    approved = await client.post(f"/api/servers/{server['id']}/pins/approve", json={}, headers=admin.headers)

    assert approved.status_code == 200, approved.text
    assert [item["name"] for item in approved.json()["approved"]] == ["echo"] and approved.json()["held"] == {}
    assert (await _tools(session))["echo"] == CHANGED
    assert (await session.call("echo", text="hi"))["result"]["content"][0]["text"] == "hi"
    metrics = (await client.get(f"/api/servers/{server['id']}/metrics", headers=admin.headers)).json()
    assert metrics["totals"].get("definitions_changed") == 1 and metrics["totals"].get("definitions_approved") == 1


async def test_a_changed_resource_template_is_held_and_so_are_reads_through_it(
    app: FastAPI, client: httpx.AsyncClient, admin: Account
) -> None:
    server = await _hosted(client, admin)
    (_data(app, server) / "item_template.txt").write_text("fixture://everything/{+path}")
    await _restarted_with(app, client, admin, server)
    session = McpHttp(client, server["slug"], server["access_key"])
    await session.initialize()

    pins = (await client.get(f"/api/servers/{server['id']}/pins", headers=admin.headers)).json()
    templates = (await session.request("resources/templates/list"))["result"]["resourceTemplates"]
    through = await session.request("resources/read", {"uri": "fixture://everything/etc/passwd"})
    plain = await session.request("resources/read", {"uri": "fixture://readme"})
    assert pins["held"] == {"resource_template": ["fixture://everything/{+path}"]}
    assert templates == []  # hidden; the old one is gone from the server
    assert (
        "comes from the resource template 'fixture://everything/{+path}', which is held"
        in (through["error"]["message"])
    )
    assert plain["result"]["contents"][0]["text"] == "fixture readme"  # the rest is served

    approved = await client.post(
        f"/api/servers/{server['id']}/pins/approve",
        json={"names": ["fixture://everything/{+path}"]},
        headers=admin.headers,
    )
    assert approved.status_code == 200 and approved.json()["held"] == {}
    templates = (await session.request("resources/templates/list"))["result"]["resourceTemplates"]
    assert [t["uriTemplate"] for t in templates] == ["fixture://everything/{+path}"]
    assert "result" in await session.request("resources/read", {"uri": "fixture://everything/etc/passwd"})


async def test_a_new_tool_is_held_and_other_people_cannot_approve(client: httpx.AsyncClient, admin: Account) -> None:
    server = await _hosted(client, admin)
    stranger = await sign_up(client, "stranger@example.com")

    await client.patch(
        f"/api/servers/{server['id']}", json={"env": {"FIXTURE_EXTRA_TOOLS": "1"}}, headers=admin.headers
    )
    held = await eventually(
        lambda: client.get(f"/api/servers/{server['id']}", headers=admin.headers),
        lambda r: (r.json()["held"], r.json()["status"]) == ({"tool": ["extra_0"]}, "running"),
        timeout=60,
        what="the new tool held",
    )
    by_stranger = await client.post(f"/api/servers/{server['id']}/pins/approve", json={}, headers=stranger.headers)

    assert held.json()["revision"] == 2  # redeployed without downtime, the new tool held from its first answer
    assert_error(by_stranger, 404, "not_found")


async def test_under_warn_a_change_is_served_and_recorded(
    app: FastAPI, client: httpx.AsyncClient, admin: Account
) -> None:
    server = await _hosted(client, admin, pin_policy="warn")

    (_data(app, server) / "echo_description.txt").write_text(CHANGED)
    await _restarted_with(app, client, admin, server)

    now = (await client.get(f"/api/servers/{server['id']}", headers=admin.headers)).json()
    assert now["pin_policy"] == "warn" and now["held"] == {}
    session = McpHttp(client, server["slug"], server["access_key"])
    await session.initialize()
    assert (await _tools(session))["echo"] == CHANGED
    metrics = (await client.get(f"/api/servers/{server['id']}/metrics", headers=admin.headers)).json()
    assert metrics["totals"].get("definitions_changed") == 1

    switched = await client.patch(f"/api/servers/{server['id']}", json={"pin_policy": "pin"}, headers=admin.headers)
    assert switched.json()["held"] == {}  # under warn the change was approved as it came
