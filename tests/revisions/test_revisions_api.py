"""Revisions through the API: every deploy numbered, what each holds (never a secret's value), rollback, bad input,
who may see and roll back."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from mcphost.models import Job, ServerRevision
from mcphost.revisions.record import record_resolved
from mcphost.runtimes.fake import FakeRuntime
from tests.revisions.conftest import PACKAGE, create, numbers, revisions
from tests.support.accounts import Account, assert_error, sign_up


async def test_every_deploy_gets_the_next_number_and_the_server_shows_the_live_one(
    client: httpx.AsyncClient, user: Account
) -> None:
    server = await create(client, user)
    sid = server["id"]
    assert server["revision"] == 1

    await client.patch(f"/api/servers/{sid}", json={"env": {"TZ": "UTC"}}, headers=user.headers)
    await client.patch(f"/api/servers/{sid}", json={"name": "Renamed", "idle_seconds": 60}, headers=user.headers)
    await client.post(f"/api/servers/{sid}/restart", headers=user.headers)
    await client.post(f"/api/servers/{sid}/stop", headers=user.headers)
    redeployed = await client.post(f"/api/servers/{sid}/redeploy", headers=user.headers)
    rolled = await client.post(f"/api/servers/{sid}/rollback", json={"revision": 1}, headers=user.headers)

    assert redeployed.json()["revision"] == 3
    assert rolled.status_code == 202, rolled.text
    assert rolled.json()["server"]["revision"] == 4 and rolled.json()["revision"]["number"] == 4
    listed = (await revisions(client, user, sid))["items"]
    assert [(r["number"], r["reason"], r["live"]) for r in listed] == [
        (4, "rollback", True),
        (3, "redeploy", False),
        (2, "update", False),
        (1, "create", False),
    ]
    assert all(r["actor"] == "user" and r["created_by"] == str(user.id) for r in listed)
    assert listed[0]["created_by_email"] == user.email
    assert listed[0]["rolled_back_to"] == 1 and listed[1]["rolled_back_to"] is None
    assert (await client.get(f"/api/servers/{sid}", headers=user.headers)).json()["revision"] == 4


async def test_revisions_are_paged_newest_first(client: httpx.AsyncClient, user: Account) -> None:
    sid = (await create(client, user))["id"]
    for value in ("a", "b", "c", "d"):
        await client.patch(f"/api/servers/{sid}", json={"env": {"V": value}}, headers=user.headers)

    first = await revisions(client, user, sid, limit=2)
    second = await revisions(client, user, sid, limit=2, cursor=first["next_cursor"])
    third = await revisions(client, user, sid, limit=2, cursor=second["next_cursor"])
    bad = await client.get(f"/api/servers/{sid}/revisions", params={"cursor": "nonsense"}, headers=user.headers)

    assert [r["number"] for r in first["items"]] == [5, 4]
    assert [r["number"] for r in second["items"]] == [3, 2]
    assert [r["number"] for r in third["items"]] == [1] and third["next_cursor"] is None
    assert first["items"][1]["settings"]["env"] == {"V": "c"}
    assert_error(bad, 422, "invalid_cursor")


async def test_rollback_restores_source_and_settings_but_leaves_secrets(
    app: FastAPI, client: httpx.AsyncClient, user: Account
) -> None:
    server = await create(client, user, env={"A": "1"}, config={"region": "eu"}, secret_env={"TOKEN": "first-s3cret"})
    sid = server["id"]
    changed = {
        "env": {"A": "2", "B": "x"},
        "config": {"region": "us"},
        "resources": {"memory_limit": "512M"},
        "network": "none",
        "isolation": "per_user",
        "secret_env": {"TOKEN": "second-s3cret", "EXTRA": "extra-s3cret"},
    }
    await client.patch(f"/api/servers/{sid}", json=changed, headers=user.headers)
    await client.patch(
        f"/api/servers/{sid}",
        json={"env": {"A": "3"}, "max_instances": 5},
        headers=user.headers,
    )

    rolled = await client.post(f"/api/servers/{sid}/rollback", json={"revision": 1}, headers=user.headers)
    now = (await client.get(f"/api/servers/{sid}", headers=user.headers)).json()

    assert rolled.status_code == 202, rolled.text
    assert now["env"] == {"A": "1"} and now["config"] == {"region": "eu"}
    assert now["network"] == "default" and now["isolation"] == "shared"
    assert now["resources"]["memory_limit"] is None
    assert now["source"] == PACKAGE | {"version": None, "args": [], "bin": None}
    assert now["secret_env"] == ["EXTRA", "TOKEN"]  # secrets are not part of revisions: they stay
    assert now["max_instances"] == 5  # not a deploy setting
    assert now["desired_state"] == "running"
    revision = rolled.json()["revision"]
    assert revision["reason"] == "rollback" and revision["rolled_back_to"] == 1
    assert revision["settings"]["env"] == {"A": "1"} and revision["detail"] == "rolled back to revision 1"
    async with app.state.platform.db.session_scope() as session:
        jobs = (await session.scalars(sa.select(Job).where(Job.kind == "server.reconcile"))).all()
    redeploys = [job.payload for job in jobs if job.payload["prepare"]]
    assert redeploys == [{"server_id": sid, "prepare": {"refresh": True}, "restart": False}]

    again = await client.post(f"/api/servers/{sid}/rollback", json={"revision": 2}, headers=user.headers)
    assert again.json()["server"]["env"] == {"A": "2", "B": "x"} and again.json()["server"]["network"] == "none"
    assert again.json()["server"]["resources"]["memory_limit"] == 512


async def test_secret_values_never_appear_in_revisions(app: FastAPI, client: httpx.AsyncClient, user: Account) -> None:
    sid = (await create(client, user, secret_env={"API_KEY": "value-one-9f3a"}))["id"]
    await client.patch(f"/api/servers/{sid}", json={"secret_env": {"API_KEY": "value-two-7c1e"}}, headers=user.headers)
    await client.patch(f"/api/servers/{sid}", json={"secret_env": {"OTHER": "value-three-2b8d"}}, headers=user.headers)

    listed = await revisions(client, user, sid)
    one = (await client.get(f"/api/servers/{sid}/revisions/3", headers=user.headers)).json()
    async with app.state.platform.db.session_scope() as session:
        stored = (await session.scalars(sa.select(ServerRevision))).all()
    everything = json.dumps(listed) + json.dumps(one) + json.dumps([(r.source, r.settings, r.detail) for r in stored])

    for value in ("value-one-9f3a", "value-two-7c1e", "value-three-2b8d"):
        assert value not in everything
    assert [r["settings"]["secret_names"] for r in listed["items"]] == [["API_KEY", "OTHER"], ["API_KEY"], ["API_KEY"]]
    assert one["number"] == 3 and one["live"] is True


async def test_unknown_revisions_and_the_live_one_are_refused_clearly(client: httpx.AsyncClient, user: Account) -> None:
    sid = (await create(client, user))["id"]
    await client.patch(f"/api/servers/{sid}", json={"env": {"A": "1"}}, headers=user.headers)

    missing = await client.post(f"/api/servers/{sid}/rollback", json={"revision": 7}, headers=user.headers)
    live = await client.post(f"/api/servers/{sid}/rollback", json={"revision": 2}, headers=user.headers)
    not_a_number = await client.post(f"/api/servers/{sid}/rollback", json={"revision": 0}, headers=user.headers)
    read_missing = await client.get(f"/api/servers/{sid}/revisions/7", headers=user.headers)

    assert "no revision 7" in str(assert_error(missing, 404, "revision_not_found")["message"])
    assert "already live" in str(assert_error(live, 409, "already_live")["message"])
    assert_error(not_a_number, 422)
    assert_error(read_missing, 404, "revision_not_found")
    assert await numbers(client, user, sid) == [2, 1]


async def test_other_peoples_servers_are_404_and_viewers_read_but_do_not_roll_back(
    client: httpx.AsyncClient, user: Account, admin: Account
) -> None:
    stranger = await sign_up(client, "stranger@example.com")
    viewer = await sign_up(client, "viewer@example.com")
    org = (await client.post("/api/orgs", json={"name": "Acme"}, headers=user.headers)).json()
    await client.post(
        f"/api/orgs/{org['id']}/members", json={"email": viewer.email, "role": "viewer"}, headers=user.headers
    )
    sid = (await create(client, user, org_id=org["id"]))["id"]
    await client.patch(f"/api/servers/{sid}", json={"env": {"A": "1"}}, headers=user.headers)

    for method, path, body in (
        ("GET", "/revisions", None),
        ("GET", "/revisions/1", None),
        ("POST", "/rollback", {"revision": 1}),
    ):
        response = await client.request(method, f"/api/servers/{sid}{path}", json=body, headers=stranger.headers)
        assert_error(response, 404, "not_found")
    assert_error(await client.get(f"/api/servers/{uuid.uuid4()}/revisions", headers=user.headers), 404, "not_found")
    assert await numbers(client, viewer, sid) == [2, 1]
    refused = await client.post(f"/api/servers/{sid}/rollback", json={"revision": 1}, headers=viewer.headers)
    assert_error(refused, 403, "insufficient_role")
    assert await numbers(client, user, sid) == [2, 1]
    by_admin = await client.post(f"/api/servers/{sid}/rollback", json={"revision": 1}, headers=admin.headers)
    assert by_admin.status_code == 202 and by_admin.json()["revision"]["created_by"] == str(admin.id)


async def test_rollback_pins_the_version_an_unpinned_package_ran(
    app: FastAPI, client: httpx.AsyncClient, user: Account
) -> None:
    sid = (await create(client, user))["id"]
    # What the lifecycle layer records once the runtime prepared revision 1 (the process runtime's details).
    details = {
        "registry_type": "pypi",
        "identifier": "mcp-server-time",
        "version": "2025.9.25",
        "env": "/x",
        "cached": False,
    }
    await record_resolved(app.state.platform.db, uuid.UUID(sid), 1, details)
    await client.post(f"/api/servers/{sid}/redeploy", headers=user.headers)

    first = (await client.get(f"/api/servers/{sid}/revisions/1", headers=user.headers)).json()
    rolled = await client.post(f"/api/servers/{sid}/rollback", json={"revision": 1}, headers=user.headers)

    assert first["resolved"] == {"registry_type": "pypi", "identifier": "mcp-server-time", "version": "2025.9.25"}
    assert first["resolved_at"] is not None
    assert rolled.json()["server"]["source"]["version"] == "2025.9.25"
    assert "pinned to mcp-server-time 2025.9.25" in rolled.json()["revision"]["detail"]


async def test_rollback_pins_an_image_to_its_digest_and_a_git_build_to_its_commit(
    monkeypatch: pytest.MonkeyPatch, app: FastAPI, client: httpx.AsyncClient, user: Account
) -> None:
    # The fake runtime takes image and git sources here: preparing them is the Docker runtime's business.
    monkeypatch.setattr(FakeRuntime, "source_types", frozenset({"package", "image", "git"}))
    db = app.state.platform.db
    digest, commit = "registry.example/weather@sha256:" + "a" * 64, "c" * 40
    image = await create(client, user, name="Image", source={"type": "image", "image": "registry.example/weather:1"})
    git = await create(
        client, user, name="Git", source={"type": "git", "url": "https://example.com/w.git", "ref": "main"}
    )
    await record_resolved(db, uuid.UUID(image["id"]), 1, {"image": "registry.example/weather:1", "digest": digest})
    await record_resolved(db, uuid.UUID(git["id"]), 1, {"commit": commit, "image": "mcphost-build/w:cccccccccccc"})

    rolled = {}
    for server in (image, git):
        await client.post(f"/api/servers/{server['id']}/redeploy", headers=user.headers)
        answer = await client.post(f"/api/servers/{server['id']}/rollback", json={"revision": 1}, headers=user.headers)
        assert answer.status_code == 202, answer.text
        rolled[server["name"]] = answer.json()

    assert rolled["Image"]["server"]["source"]["image"] == digest
    assert rolled["Image"]["revision"]["detail"] == (
        f"rolled back to revision 1; pinned to {digest}, the image it ran (was registry.example/weather:1)"
    )
    assert rolled["Git"]["server"]["source"]["commit"] == commit
    assert rolled["Git"]["server"]["source"]["ref"] == "main"  # pushes to main are still followed
    assert "pinned to commit cccccccccccc, the commit it built" in rolled["Git"]["revision"]["detail"]


async def test_redeploy_options_reach_the_lifecycle_layer_and_bad_ones_are_refused(
    app: FastAPI, client: httpx.AsyncClient, user: Account
) -> None:
    sid = (await create(client, user))["id"]

    plain = await client.post(f"/api/servers/{sid}/redeploy", headers=user.headers)
    rebuilt = await client.post(f"/api/servers/{sid}/redeploy?no_cache=true&pull=true", headers=user.headers)
    not_a_flag = await client.post(f"/api/servers/{sid}/redeploy?no_cache=perhaps", headers=user.headers)
    unknown = await client.post(f"/api/servers/{sid}/redeploy?force=true", headers=user.headers)

    assert plain.status_code == rebuilt.status_code == 202
    assert_error(not_a_flag, 422, "validation_error")
    assert_error(unknown, 422, "validation_error")
    async with app.state.platform.db.session_scope() as session:
        jobs = (await session.scalars(sa.select(Job).where(Job.kind == "server.reconcile"))).all()
    assert sorted((job.payload["prepare"] for job in jobs), key=len) == [
        {},
        {"refresh": True},
        {"refresh": True, "no_cache": True, "pull": True},
    ]
    assert await numbers(client, user, sid) == [3, 2, 1]
