"""``orgs delete`` and ``users delete`` (owners of servers), ``servers keys list|revoke`` (creators, revoking by
the prefix the list shows) and ``tokens create`` (the instance's default lifetime): the real executable against a
running ``mcphost up`` whose servers run on the fake runtime."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import httpx

from tests.cli import processes
from tests.cli.live import EMAIL, PACKAGE, PASSWORD, Instance, ok, one_line_error


def _env(instance: Instance) -> dict[str, str]:
    return instance.env(MCPHOST_URL=instance.url, MCPHOST_TOKEN=instance.token)


def test_an_org_with_servers_is_deleted_only_with_delete_servers(instance: Instance) -> None:
    env = _env(instance)
    ok("orgs", "create", "Short lived", env=env)
    with instance.api() as api:
        org = next(org for org in api.get("/api/orgs").json() if org["slug"] == "short-lived")
        body = {"name": "org-srv", "source": PACKAGE, "org_id": org["id"], "start": False}
        server = api.post("/api/servers", json=body).json()

    refused = one_line_error(processes.run("orgs", "delete", "short-lived", "--yes", env=env))
    deleted = ok("orgs", "delete", "short-lived", "--delete-servers", "--yes", env=env)

    assert "still has 1 server(s)" in refused
    assert "mcphost orgs delete short-lived --delete-servers" in refused
    assert "short-lived: deleted with its servers" in deleted
    with instance.api() as api:
        assert api.get(f"/api/orgs/{org['id']}").status_code == 404
        assert api.get(f"/api/servers/{server['id']}").status_code == 404


def test_keys_list_names_their_creator_and_revoke_takes_the_listed_prefix(instance: Instance) -> None:
    env = _env(instance)
    slug = instance.server["slug"]
    ok("servers", "keys", "create", slug, "--name", "laptop", env=env)
    listed = json.loads(ok("servers", "keys", "list", slug, "--json", env=env))
    laptop = next(key for key in listed if key["name"] == "laptop")
    table = ok("servers", "keys", "list", slug, env=env)

    revoked = ok("servers", "keys", "revoke", slug, laptop["prefix"] + "…", env=env)
    unknown = one_line_error(processes.run("servers", "keys", "revoke", slug, "mcph_sk_zzzzzz", env=env))

    assert {key["created_by_email"] for key in listed} == {EMAIL}
    assert "CREATED BY" in table and EMAIL in table
    assert f"key {laptop['prefix']} revoked" in revoked
    after = {key["name"]: key for key in json.loads(ok("servers", "keys", "list", slug, "--json", env=env))}
    assert after["laptop"]["revoked_at"] is not None and after["default"]["revoked_at"] is None
    assert "no access key with the prefix mcph_sk_zzzzzz" in unknown


def test_tokens_get_the_instance_default_lifetime(instance: Instance) -> None:
    env = _env(instance)

    created = json.loads(ok("tokens", "create", "ci", "--scope", "read", "--json", env=env))

    expires = datetime.fromisoformat(created["expires_at"])
    made = datetime.fromisoformat(created["created_at"])
    assert timedelta(days=89) < expires - made <= timedelta(days=90)


def test_users_delete_refuses_an_owner_of_servers_unless_told_to_delete_them(instance: Instance) -> None:
    env = _env(instance)
    with httpx.Client(base_url=instance.url, timeout=10) as http:
        http.post("/api/auth/register", json={"email": "leaver@example.com", "password": PASSWORD})
        token = http.post("/api/auth/login", json={"email": "leaver@example.com", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        server = http.post("/api/servers", json={"name": "left", "source": PACKAGE, "start": False}, headers=headers)
        assert server.status_code == 201, server.text

    refused = one_line_error(processes.run("users", "delete", "leaver@example.com", "--yes", env=env))
    deleted = ok("users", "delete", "leaver@example.com", "--delete-servers", "--yes", env=env)

    assert "owns 1 server(s)" in refused and "--delete-servers" in refused
    assert "leaver@example.com: deleted with the servers it owned" in deleted
    with instance.api() as api:
        assert api.get(f"/api/servers/{server.json()['id']}").status_code == 404
        assert "leaver@example.com" not in {user["email"] for user in api.get("/api/users").json()["items"]}
