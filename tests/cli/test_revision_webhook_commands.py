"""``servers revisions``, ``servers rollback`` and ``servers webhook show|rotate`` as a user runs them: the real
executable against a running ``mcphost up`` whose server runs on the fake runtime."""

from __future__ import annotations

import json

import httpx

from tests.cli import processes
from tests.cli.live import EMAIL, Instance, ok, one_line_error


def test_revisions_rollback_and_the_webhook(instance: Instance) -> None:
    env = instance.env(MCPHOST_URL=instance.url, MCPHOST_TOKEN=instance.token)
    slug, server_id = instance.server["slug"], instance.server["id"]
    with instance.api() as api:
        assert api.patch(f"/api/servers/{server_id}", json={"env": {"TZ": "UTC"}}).status_code == 200

    table = ok("servers", "revisions", slug, env=env)
    rolled = ok("servers", "rollback", slug, "1", "--wait", env=env)
    listed = json.loads(ok("servers", "revisions", slug, "--json", env=env))
    live = one_line_error(processes.run("servers", "rollback", slug, "3", env=env))
    missing = one_line_error(processes.run("servers", "rollback", slug, "99", env=env))

    assert "2 *" in table and "update" in table and "create" in table and EMAIL in table
    assert "fake-server (newest)" in table
    assert f"{slug}: rolled back to revision 1 as revision 3" in rolled and f"{slug} is running" in rolled
    assert [(r["number"], r["reason"], r["live"]) for r in listed] == [
        (3, "rollback", True),
        (2, "update", False),
        (1, "create", False),
    ]
    assert listed[0]["settings"]["env"] == {}
    assert "already live" in live
    assert "no revision 99" in missing

    shown = ok("servers", "webhook", "show", slug, env=env)
    secret = ok("servers", "webhook", "rotate", slug, env=env).strip()
    with httpx.Client(base_url=instance.url, timeout=10) as http:
        delivered = http.post(f"/api/servers/{server_id}/webhook", headers={"X-Webhook-Secret": secret})
    after = ok("servers", "webhook", "show", slug, env=env)

    hook = f"{instance.url}/api/servers/{server_id}/webhook"
    assert hook in shown and f"{instance.url}/api/servers/{server_id}/github" in shown
    assert f'curl -X POST -H "X-Webhook-Secret: $WEBHOOK_SECRET" {hook}' in shown
    assert "Payload URL" in shown and "application/json" in shown and "No deliveries yet." in shown
    assert "not a git source" in shown
    assert secret.startswith("mcph_wh_") and "\n" not in secret
    assert delivered.status_code == 202 and delivered.json()["revision"] == 4
    assert "redeployed" in after and "redeployed as revision 4" in after
    assert "webhook" in ok("servers", "revisions", slug, "--limit", "1", env=env)
