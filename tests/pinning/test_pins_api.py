"""Pins through the API on the fake runtime (whose tool ``grow`` adds a tool and announces it): who may see and
approve held changes and change the policy in an organisation, and bad requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.pinning.orgs import org_server, team
from tests.servers.hosting import QUICK
from tests.support.accounts import assert_error
from tests.support.waiting import eventually


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **QUICK)


async def _org_server_with_a_held_tool(client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any], str]:
    people = await team(client)
    server = await org_server(client, people)
    grown = await client.post(
        f"/api/servers/{server['id']}/invoke",
        json={"method": "tools/call", "params": {"name": "grow"}},
        headers=people["member"].headers,
    )
    assert grown.status_code == 200, grown.text
    answer = await eventually(
        lambda: client.get(f"/api/servers/{server['id']}", headers=people["owner"].headers),
        lambda r: bool(r.json()["held"]),
        what="the grown tool held",
    )
    return people, server, answer.json()["held"]["tool"][0]


async def test_members_see_held_changes_but_only_owners_and_org_admins_approve_or_stop_pinning(
    client: httpx.AsyncClient,
) -> None:
    people, server, name = await _org_server_with_a_held_tool(client)
    owner, member, viewer = people["owner"], people["member"], people["viewer"]
    pins = f"/api/servers/{server['id']}/pins"

    seen = await client.get(pins, headers=viewer.headers)
    by_member = await client.post(f"{pins}/approve", json={"names": [name]}, headers=member.headers)
    policy_by_member = await client.patch(
        f"/api/servers/{server['id']}", json={"pin_policy": "off"}, headers=member.headers
    )
    same_policy = await client.patch(f"/api/servers/{server['id']}", json={"pin_policy": "pin"}, headers=member.headers)
    unknown = await client.post(f"{pins}/approve", json={"names": ["no-such-tool"]}, headers=owner.headers)
    empty = await client.post(f"{pins}/approve", json={"names": []}, headers=owner.headers)
    by_owner = await client.post(f"{pins}/approve", json={"names": [name]}, headers=owner.headers)

    assert seen.status_code == 200
    assert next(item for item in seen.json()["items"] if item["name"] == name)["state"] == "held"
    assert_error(by_member, 403, "insufficient_role")
    assert_error(policy_by_member, 403, "insufficient_role")
    assert same_policy.status_code == 200  # not a change of policy
    assert_error(unknown, 422, "not_held")
    assert_error(empty, 422, "validation_error")
    assert by_owner.status_code == 200 and by_owner.json()["held"] == {}
    assert (await client.get(pins, headers=member.headers)).json()["held"] == {}


async def test_turning_pinning_off_releases_held_items_and_turning_it_on_holds_them_again(
    client: httpx.AsyncClient,
) -> None:
    people, server, name = await _org_server_with_a_held_tool(client)
    owner = people["owner"]
    path = f"/api/servers/{server['id']}"

    off = await client.patch(path, json={"pin_policy": "off"}, headers=owner.headers)
    listed_off = (await client.get(f"{path}/pins", headers=owner.headers)).json()
    on = await client.patch(path, json={"pin_policy": "pin"}, headers=owner.headers)

    assert off.json()["pin_policy"] == "off" and off.json()["held"] == {}
    assert next(item for item in listed_off["items"] if item["name"] == name)["state"] == "changed"
    assert on.json()["held"] == {"tool": [name]}  # never approved: held again
    assert_error(await client.patch(path, json={"pin_policy": "sometimes"}, headers=owner.headers), 422)
