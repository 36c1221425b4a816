"""``servers pins`` and ``servers approve`` as a user runs them: the fake server grows a tool (a new tool is held
under the default policy), the table shows it held with what is new, approving releases it."""

from __future__ import annotations

import json
import time

from tests.cli.live import Instance, ok


def test_a_grown_tool_is_held_shown_and_approved(instance: Instance) -> None:
    env = instance.env(MCPHOST_URL=instance.url, MCPHOST_TOKEN=instance.token)
    slug, server_id = instance.server["slug"], instance.server["id"]
    with instance.api() as api:
        grown = api.post(f"/api/servers/{server_id}/invoke", json={"method": "tools/call", "params": {"name": "grow"}})
        assert grown.status_code == 200, grown.text
        deadline = time.monotonic() + 20
        while not (held := api.get(f"/api/servers/{server_id}").json()["held"]) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert list(held) == ["tool"] and len(held["tool"]) == 1
    name = held["tool"][0]

    table = ok("servers", "pins", slug, env=env)
    approved = ok("servers", "approve", slug, name, env=env)
    after = json.loads(ok("servers", "pins", slug, "--json", env=env))

    assert "policy: pin" in table and name in table and "held" in table
    assert "new: never approved" in table and f"approve with: mcphost servers approve {slug}" in table
    assert approved.strip() == f"approved: tool {name}"
    assert after["held"] == {} and {item["state"] for item in after["items"]} == {"approved"}


def test_tools_disabled_and_enabled_from_the_terminal(instance: Instance) -> None:
    env = instance.env(MCPHOST_URL=instance.url, MCPHOST_TOKEN=instance.token)
    slug, server_id = instance.server["slug"], instance.server["id"]

    disabled = ok("servers", "tools", "disable", slug, "crash", env=env)
    listed = ok("servers", "tools", slug, env=env)
    with instance.api() as api:
        call = {"method": "tools/call", "params": {"name": "crash"}}
        refused = api.post(f"/api/servers/{server_id}/invoke", json=call).json()
        listing = api.post(f"/api/servers/{server_id}/invoke", json={"method": "tools/list"}).json()
    enabled = ok("servers", "tools", "enable", slug, "crash", env=env)
    rules = json.loads(ok("servers", "show", slug, "--json", env=env))["tool_rules"]

    assert disabled.strip() == "disabled: crash"
    assert "crash" in listed and "disabled" in listed
    assert refused["error"]["data"] == {"reason": "disabled"}
    assert "crash" not in {tool["name"] for tool in listing["result"]["tools"]}
    assert enabled.strip() == "enabled: crash" and rules == {"disabled": [], "min_role": {}}
