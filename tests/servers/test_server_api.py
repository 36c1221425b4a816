"""Deploying servers through the API: sources, ownership, quotas, secrets, keys, bad input."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from mcphost.models import Job, Server
from tests.support.accounts import Account, assert_error, bearer, create_token

PACKAGE = {"type": "package", "registry_type": "pypi", "identifier": "mcp-server-time", "version": "2026.10.19"}


async def _create(client: httpx.AsyncClient, who: Account, **body: Any) -> httpx.Response:
    return await client.post("/api/servers", json={"name": "Time", "source": PACKAGE} | body, headers=who.headers)


async def test_create_returns_endpoint_slug_and_a_key_shown_once(client: httpx.AsyncClient, user: Account) -> None:
    response = await _create(client, user, name="My Time Server")

    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "my-time-server"
    assert body["endpoint_url"] == "http://127.0.0.1:8700/mcp/my-time-server"
    assert body["status"] == "pending" and body["desired_state"] == "running"
    assert body["access_key"].startswith("mcph_sk_")
    shown = (await client.get(f"/api/servers/{body['id']}", headers=user.headers)).json()
    assert "access_key" not in shown and body["access_key"] not in str(shown)
    keys = (await client.get(f"/api/servers/{body['id']}/keys", headers=user.headers)).json()
    assert [key["name"] for key in keys] == ["default"] and body["access_key"].startswith(keys[0]["prefix"])


async def test_slugs_are_globally_unique(client: httpx.AsyncClient, user: Account, admin: Account) -> None:
    first = (await _create(client, user, name="Weather")).json()
    second = (await _create(client, admin, name="Weather")).json()

    assert first["slug"] == "weather" and second["slug"].startswith("weather-") and second["slug"] != "weather"


async def test_creating_enqueues_a_reconcile_job_on_the_node_queue(
    app: FastAPI, client: httpx.AsyncClient, user: Account
) -> None:
    created = (await _create(client, user)).json()

    async with app.state.platform.db.session_scope() as session:
        jobs = (await session.scalars(sa.select(Job).where(Job.kind == "server.reconcile"))).all()
    assert [job.payload["server_id"] for job in jobs] == [created["id"]]
    assert jobs[0].queue == f"node:{app.state.platform.settings.runtime.node_name}"


async def test_not_starting_creates_a_stopped_server_and_no_job(
    app: FastAPI, client: httpx.AsyncClient, user: Account
) -> None:
    created = (await _create(client, user, start=False)).json()

    assert created["status"] == "stopped" and created["desired_state"] == "stopped"


async def test_users_see_only_their_servers_and_admins_see_all(
    client: httpx.AsyncClient, user: Account, admin: Account
) -> None:
    mine = (await _create(client, user, name="Mine")).json()
    theirs = (await _create(client, admin, name="Theirs")).json()

    listed = (await client.get("/api/servers", headers=user.headers)).json()
    everything = (await client.get("/api/servers", headers=admin.headers)).json()

    assert [s["id"] for s in listed["items"]] == [mine["id"]]
    assert {s["id"] for s in everything["items"]} == {mine["id"], theirs["id"]}
    for method, path in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/start"), ("GET", "/keys")):
        response = await client.request(
            method, f"/api/servers/{theirs['id']}{path}", json={} if method == "PATCH" else None, headers=user.headers
        )
        assert_error(response, 404, "not_found")


async def test_user_quota_is_enforced(client: httpx.AsyncClient, user: Account, admin: Account) -> None:
    await client.patch(f"/api/users/{user.id}", json={"server_quota": 2}, headers=admin.headers)
    for index in range(2):
        assert (await _create(client, user, name=f"s{index}")).status_code == 201

    third = await _create(client, user, name="one too many")

    error = assert_error(third, 403, "quota_exceeded")
    assert error["details"] == {"quota": 2, "used": 2}
    assert len((await client.get("/api/servers", headers=user.headers)).json()["items"]) == 2


async def test_org_quota_is_enforced_and_org_members_share_servers(
    client: httpx.AsyncClient, user: Account, admin: Account
) -> None:
    org = (await client.post("/api/orgs", json={"name": "Acme"}, headers=user.headers)).json()
    await client.patch(f"/api/orgs/{org['id']}", json={"server_quota": 1}, headers=admin.headers)
    from tests.support.accounts import sign_up

    colleague = await sign_up(client, "colleague@example.com")
    await client.post(
        f"/api/orgs/{org['id']}/members", json={"email": colleague.email, "role": "viewer"}, headers=user.headers
    )

    created = await _create(client, user, name="Shared", org_id=org["id"])
    second = await _create(client, user, name="Second", org_id=org["id"])
    seen_by_viewer = await client.get(f"/api/servers/{created.json()['id']}", headers=colleague.headers)
    changed_by_viewer = await client.post(f"/api/servers/{created.json()['id']}/stop", headers=colleague.headers)
    viewer_creates = await _create(client, colleague, name="Nope", org_id=org["id"])

    assert (
        created.status_code == 201 and created.json()["org_id"] == org["id"] and created.json()["owner_user_id"] is None
    )
    assert_error(second, 403, "quota_exceeded")
    assert seen_by_viewer.status_code == 200
    assert_error(changed_by_viewer, 403, "insufficient_role")
    assert_error(viewer_creates, 403, "insufficient_role")


async def test_creating_in_an_org_you_are_not_in_is_404(
    client: httpx.AsyncClient, user: Account, admin: Account
) -> None:
    org = (await client.post("/api/orgs", json={"name": "Private"}, headers=admin.headers)).json()

    assert_error(await _create(client, user, org_id=org["id"]), 404, "not_found")


async def test_secret_values_are_never_returned_and_not_stored_in_clear(
    app: FastAPI, client: httpx.AsyncClient, user: Account
) -> None:
    created = await _create(client, user, env={"PLAIN": "visible"}, secret_env={"API_TOKEN": "s3cr3t-value-xyz"})
    server_id = created.json()["id"]
    updated = await client.patch(
        f"/api/servers/{server_id}", json={"secret_env": {"OTHER": "another-s3cr3t"}}, headers=user.headers
    )

    for response in (created, updated, await client.get(f"/api/servers/{server_id}", headers=user.headers)):
        assert "s3cr3t" not in response.text
    assert updated.json()["secret_env"] == ["API_TOKEN", "OTHER"]
    assert updated.json()["env"] == {"PLAIN": "visible"}
    async with app.state.platform.db.session_scope() as session:
        stored = await session.scalar(sa.select(Server.secret_env))
    assert stored is not None and "s3cr3t" not in str(stored)

    removed = await client.patch(
        f"/api/servers/{server_id}", json={"secret_env": {"OTHER": None}}, headers=user.headers
    )
    assert removed.json()["secret_env"] == ["API_TOKEN"]


async def test_config_and_resources_are_recorded_with_warnings_only_for_what_is_not_enforced(
    client: httpx.AsyncClient, user: Account
) -> None:
    created = await _create(
        client, user, config={"region": "eu", "retries": 3}, resources={"memory_limit": "512M", "cpu_limit": 0.5}
    )

    body = created.json()
    assert body["config"] == {"region": "eu", "retries": 3}
    assert body["resources"] == {"cpu_limit": 0.5, "memory_limit": 512, "gpu": 0}


async def test_command_sources_are_for_admins(client: httpx.AsyncClient, user: Account, admin: Account) -> None:
    command = {"type": "command", "command": ["/usr/bin/python3", "server.py"]}

    by_user = await _create(client, user, source=command)
    by_admin = await _create(client, admin, source=command)

    assert_error(by_user, 403, "command_not_allowed")
    assert by_admin.status_code == 201


async def test_image_and_git_sources_are_refused_with_the_reason_when_docker_is_not_used(
    app: FastAPI, client: httpx.AsyncClient, user: Account
) -> None:
    app.state.platform.settings.docker.default_for_images = False  # as on a host without Docker for them
    image = await _create(client, user, source={"type": "image", "image": "ghcr.io/example/mcp:1.0"})
    git = await _create(client, user, source={"type": "git", "url": "https://github.com/example/mcp", "ref": "main"})

    for response in (image, git):
        error = assert_error(response, 409, "runtime_unavailable")
        assert "sources run on Docker, and docker.default_for_images is off" in str(error["message"])


async def test_bad_sources_and_settings_are_422_naming_the_field(client: httpx.AsyncClient, user: Account) -> None:
    cases = [
        {"source": {"type": "package", "registry_type": "pypi", "identifier": "bad name!"}},
        {"source": {"type": "package", "registry_type": "npm", "identifier": "x", "version": "^1.0"}},
        {"source": {"type": "package", "registry_type": "cargo", "identifier": "x"}},
        {"source": {"type": "command", "command": []}},
        {"source": {"type": "unknown"}},
        {"env": {"1BAD": "x"}},
        {"env": {"MCPHOST_SECRET_KEY": "x"}},
        {"config": {"bad key": 1}},
        {"resources": {"memory_limit": "lots"}},
        {"isolation": "per_planet"},
        {"name": "  "},
    ]
    for case in cases:
        assert_error(await _create(client, user, **case), 422, "validation_error")


async def test_git_urls_the_build_would_refuse_are_refused_at_create_with_what_to_use(
    client: httpx.AsyncClient, user: Account
) -> None:
    unknown_scheme = await _create(client, user, source={"type": "git", "url": "szdx://example.com/repo"})
    not_allowed_here = await _create(client, user, source={"type": "git", "url": "git://example.com/repo"})
    no_host = await _create(client, user, source={"type": "git", "url": "https:///repo"})
    not_a_url = await _create(client, user, source={"type": "git", "url": "https://[::1/repo"})
    padded_name = await _create(client, user, name=" " * 60 + "n" * 100 + " " * 60)

    assert_error(unknown_scheme, 422, "validation_error")
    assert "git URLs with git:// are not allowed here; use one of: https://" in str(
        assert_error(not_allowed_here, 422, "invalid_git_source")["message"]
    )
    assert "names no host" in str(assert_error(no_host, 422, "invalid_git_source")["message"])
    assert "not a valid URL" in str(assert_error(not_a_url, 422, "invalid_git_source")["message"])
    assert_error(padded_name, 422, "validation_error")


async def test_lifecycle_actions_record_desired_state(client: httpx.AsyncClient, user: Account) -> None:
    server = (await _create(client, user)).json()

    stopped = await client.post(f"/api/servers/{server['id']}/stop", headers=user.headers)
    started = await client.post(f"/api/servers/{server['id']}/start", headers=user.headers)
    bogus = await client.post(f"/api/servers/{server['id']}/explode", headers=user.headers)

    assert stopped.status_code == 202 and stopped.json()["desired_state"] == "stopped"
    assert started.json()["desired_state"] == "running"
    assert_error(bogus, 422, "validation_error")


async def test_access_keys_are_created_listed_and_revoked(client: httpx.AsyncClient, user: Account) -> None:
    server = (await _create(client, user)).json()

    created = await client.post(f"/api/servers/{server['id']}/keys", json={"name": "ci"}, headers=user.headers)
    key_id = created.json()["id"]
    revoked = await client.delete(f"/api/servers/{server['id']}/keys/{key_id}", headers=user.headers)
    listed = (await client.get(f"/api/servers/{server['id']}/keys", headers=user.headers)).json()

    assert created.status_code == 201 and created.json()["key"].startswith("mcph_sk_")
    assert revoked.status_code == 204
    assert {key["name"]: key["revoked_at"] is not None for key in listed} == {"ci": True, "default": False}


async def test_delete_removes_the_server_and_enqueues_teardown(
    app: FastAPI, client: httpx.AsyncClient, user: Account
) -> None:
    server = (await _create(client, user)).json()

    deleted = await client.delete(f"/api/servers/{server['id']}", headers=user.headers)

    assert deleted.status_code == 204
    assert_error(await client.get(f"/api/servers/{server['id']}", headers=user.headers), 404)
    async with app.state.platform.db.session_scope() as session:
        kinds = set(await session.scalars(sa.select(Job.kind)))
    assert "server.teardown" in kinds


async def test_read_token_cannot_deploy(client: httpx.AsyncClient, user: Account) -> None:
    token = await create_token(client, user, "read")

    response = await client.post("/api/servers", json={"name": "x", "source": PACKAGE}, headers=bearer(token))

    assert_error(response, 403, "insufficient_scope")
