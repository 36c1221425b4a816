"""What clients may use, from the terminal as a user runs it: ``servers pins`` and ``servers approve`` (the fake
server grows a tool, which is held under the default policy, shown with what is new, and approved), ``servers tools
disable|enable``, and ``me credentials set|show|unset``."""

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


def test_own_credentials_from_the_terminal(instance: Instance) -> None:
    env = instance.env(MCPHOST_URL=instance.url, MCPHOST_TOKEN=instance.token)
    slug, server_id = instance.server["slug"], instance.server["id"]
    with instance.api() as api:
        per_user = {"isolation": "per_user", "per_user_env": ["GITHUB_TOKEN", "OTHER"]}
        assert api.patch(f"/api/servers/{server_id}", json=per_user).status_code == 200

    before = ok("me", "credentials", "show", slug, env=env)
    saved = ok("me", "credentials", "set", slug, "GITHUB_TOKEN=from-the-terminal", env=env)
    shown = json.loads(ok("me", "credentials", "show", slug, "--json", env=env))
    removed = ok("me", "credentials", "unset", slug, "GITHUB_TOKEN", env=env)

    assert "set: nothing yet" in before and "missing: GITHUB_TOKEN, OTHER" in before
    assert "set: GITHUB_TOKEN" in saved and "missing: OTHER" in saved
    assert shown == {"required": ["GITHUB_TOKEN", "OTHER"], "set": ["GITHUB_TOKEN"], "missing": ["OTHER"]}
    assert "from-the-terminal" not in json.dumps(shown)
    assert "set: nothing yet" in removed
