"""Per-user credentials through the API and the gateway, on the fake runtime (whose instances show the environment
they got): a member who has not set their value is told what to set and where; each user's own instance gets their
own value; values are sealed at rest and never returned; bad requests are refused clearly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from mcphost.models import UserCredential
from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.gateway.mcp_http import McpHttp
from tests.pinning.orgs import team
from tests.servers.hosting import QUICK, deploy, fake, status_of
from tests.support.accounts import assert_error, create_token

PER_USER = {"isolation": "per_user", "per_user_env": ["GITHUB_TOKEN"]}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **QUICK)


async def _server(client: httpx.AsyncClient, people: dict[str, Any]) -> dict[str, Any]:
    server = await deploy(client, people["owner"], org_id=people["org"], **PER_USER)
    await status_of(client, people["owner"], server["id"], "running")
    return server


async def test_each_user_gets_their_own_value_and_is_told_what_to_set_first(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    people = await team(client)
    server = await _server(client, people)
    path = f"/api/servers/{server['id']}/credentials"
    member = McpHttp(client, server["slug"], await create_token(client, people["member"], "invoke"))
    hello = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}

    before = await member.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello})
    shown = await client.get(path, headers=people["member"].headers)
    put = await client.put(path, json={"values": {"GITHUB_TOKEN": "member-token"}}, headers=people["member"].headers)
    await member.initialize()
    listed = await member.request("tools/list")
    await client.put(path, json={"values": {"GITHUB_TOKEN": "owner-token"}}, headers=people["owner"].headers)
    owner = McpHttp(client, server["slug"], await create_token(client, people["owner"], "invoke"))
    await owner.initialize()
    await owner.request("tools/list")

    assert before.status_code == 409
    error = before.json()["error"]
    assert error["data"] == {"reason": "credentials_required"}
    assert "needs your own value of GITHUB_TOKEN" in error["message"]
    assert f"/servers/{server['id']}/credentials" in error["message"]
    assert f"mcphost me credentials set {server['slug']} GITHUB_TOKEN=" in error["message"]
    assert shown.json() == {"required": ["GITHUB_TOKEN"], "set": [], "missing": ["GITHUB_TOKEN"]}
    assert put.json() == {"required": ["GITHUB_TOKEN"], "set": ["GITHUB_TOKEN"], "missing": []}
    assert "echo" in {tool["name"] for tool in listed["result"]["tools"]}
    own_values = sorted(
        i.spec.env.get("GITHUB_TOKEN", "") for i in fake(app).running if i.spec.instance_key != "shared"
    )
    assert own_values == ["member-token", "owner-token"]
    async with app.state.platform.db.session_scope() as session:
        stored = list(await session.scalars(sa.select(UserCredential.value)))
    assert len(stored) == 2 and not any("token" in value for value in stored)  # sealed at rest
    assert "member-token" not in (await client.get(path, headers=people["member"].headers)).text


async def test_a_changed_value_restarts_your_instance_with_it(app: FastAPI, client: httpx.AsyncClient) -> None:
    people = await team(client)
    server = await _server(client, people)
    path = f"/api/servers/{server['id']}/credentials"
    await client.put(path, json={"values": {"GITHUB_TOKEN": "first"}}, headers=people["member"].headers)
    member = McpHttp(client, server["slug"], await create_token(client, people["member"], "invoke"))
    await member.initialize()
    await member.request("tools/list")

    await client.put(path, json={"values": {"GITHUB_TOKEN": "second"}}, headers=people["member"].headers)
    await member.request("tools/list")

    own = [i.spec.env["GITHUB_TOKEN"] for i in fake(app).running if i.spec.instance_key != "shared"]
    assert own == ["second"]


async def test_bad_credentials_requests_are_refused_clearly(client: httpx.AsyncClient) -> None:
    people = await team(client)
    server = await _server(client, people)
    path = f"/api/servers/{server['id']}/credentials"

    unknown = await client.put(path, json={"values": {"OTHER": "x"}}, headers=people["member"].headers)
    by_viewer = await client.put(path, json={"values": {"GITHUB_TOKEN": "x"}}, headers=people["viewer"].headers)
    empty = await client.put(path, json={"values": {"GITHUB_TOKEN": ""}}, headers=people["member"].headers)
    shared = await client.post(
        "/api/servers",
        json={"name": "shared", "source": server["source"], "per_user_env": ["GITHUB_TOKEN"]},
        headers=people["owner"].headers,
    )
    bad_name = await client.patch(
        f"/api/servers/{server['id']}", json={"per_user_env": ["1BAD"]}, headers=people["owner"].headers
    )

    assert "does not take OTHER per user" in str(assert_error(unknown, 422, "not_a_per_user_input")["message"])
    assert_error(by_viewer, 403)
    assert_error(empty, 422, "validation_error")
    assert "needs per_user or per_session isolation" in str(assert_error(shared, 422, "validation_error")["message"])
    assert_error(bad_name, 422, "validation_error")
