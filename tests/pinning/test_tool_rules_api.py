"""Tool rules through the API on the fake runtime: a disabled tool is hidden and refused for everyone; a tool kept
for admins is hidden from and refused to members (through the gateway with their own token and in the playground)
but served to admins; only owners and org admins change the rules; role rules need an organisation."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.gateway.mcp_http import McpHttp
from tests.pinning.orgs import org_server, team
from tests.servers.hosting import QUICK, deploy
from tests.support.accounts import Account, assert_error, create_token


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **QUICK)


async def _gateway_view(client: httpx.AsyncClient, slug: str, who: Account) -> tuple[set[str], dict]:  # type: ignore[type-arg]
    """What this person sees and gets through the gateway, with a personal token of theirs."""
    session = McpHttp(client, slug, await create_token(client, who, "invoke"))
    await session.initialize()
    listed = await session.request("tools/list")
    answer = await session.call("echo", text="hi")
    return {tool["name"] for tool in listed["result"]["tools"]}, answer


async def test_rules_hide_and_refuse_tools_by_role_and_only_owners_change_them(client: httpx.AsyncClient) -> None:
    people = await team(client)
    server = await org_server(client, people)
    path = f"/api/servers/{server['id']}"
    rules = {"disabled": ["hang"], "min_role": {"echo": "admin"}}

    by_member = await client.patch(path, json={"tool_rules": rules}, headers=people["member"].headers)
    by_admin = await client.patch(path, json={"tool_rules": rules}, headers=people["admin"].headers)
    member_tools, member_refused = await _gateway_view(client, server["slug"], people["member"])
    admin_tools, admin_answer = await _gateway_view(client, server["slug"], people["admin"])
    played = await client.post(
        f"{path}/invoke",
        json={"method": "tools/call", "params": {"name": "hang", "arguments": {}}},
        headers=people["owner"].headers,
    )

    assert_error(by_member, 403, "insufficient_role")
    assert by_admin.status_code == 200 and by_admin.json()["tool_rules"] == rules
    assert "echo" not in member_tools and "hang" not in member_tools and "crash" in member_tools
    assert member_refused["error"]["data"] == {"reason": "role"}
    assert "for the admin role and above" in member_refused["error"]["message"]
    assert "echo" in admin_tools and "hang" not in admin_tools
    assert admin_answer["result"]["content"][0]["text"] == "hi"
    assert played.json()["error"]["data"] == {"reason": "disabled"}  # even for the owner


async def test_role_rules_need_an_organisation_and_bad_rules_are_refused(
    client: httpx.AsyncClient, admin: Account
) -> None:
    server = await deploy(client, admin)
    path = f"/api/servers/{server['id']}"

    personal = await client.patch(path, json={"tool_rules": {"min_role": {"echo": "admin"}}}, headers=admin.headers)
    unknown_role = await client.patch(path, json={"tool_rules": {"min_role": {"echo": "boss"}}}, headers=admin.headers)
    bad_name = await client.patch(path, json={"tool_rules": {"disabled": ["a\x00b"]}}, headers=admin.headers)
    duplicated = await client.patch(path, json={"tool_rules": {"disabled": ["echo", "echo"]}}, headers=admin.headers)

    assert_error(personal, 422, "validation_error")
    assert "applies to servers of an organisation" in personal.json()["error"]["message"]
    assert_error(unknown_role, 422, "validation_error")
    assert_error(bad_name, 422, "validation_error")
    assert duplicated.json()["tool_rules"] == {"disabled": ["echo"], "min_role": {}}
