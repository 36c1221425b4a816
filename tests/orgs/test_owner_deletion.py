"""Deleting an organisation that owns servers: refused while it has them, or, when asked, each server is stopped and
deleted through the path that deleting a server takes (the process stops, its data goes, nothing is left outside
every quota)."""

from __future__ import annotations

import logging
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.servers.hosting import PACKAGE, QUICK, status_of
from tests.support.accounts import Account, assert_error, sign_up
from tests.support.pids import alive
from tests.support.waiting import eventually

ECHO = Path(__file__).resolve().parents[1] / "fixtures" / "echo_server.py"
# The real process runtime (sandboxed when bubblewrap is there), and ordinary users may deploy commands: the attack
# is an ordinary user's.
PROCESS = QUICK | {
    "runtime": QUICK["runtime"]
    | {"default": "process", "sandbox": "auto", "start_timeout_seconds": 60, "allow_user_commands": True}
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **PROCESS)


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "admin@example.com")


@pytest.fixture
async def user(client: httpx.AsyncClient, admin: Account) -> Account:
    return await sign_up(client, "user@example.com")


async def _org(client: httpx.AsyncClient, owner: Account) -> str:
    response = await client.post("/api/orgs", json={"name": "Doomed"}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _echo_server(client: httpx.AsyncClient, owner: Account, org_id: str) -> dict[str, object]:
    source = {"type": "command", "command": [sys.executable, str(ECHO)]}
    body = {"name": "echo", "source": source, "org_id": org_id}
    response = await client.post("/api/servers", json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _pid(app: FastAPI, server_id: str) -> int:
    running = app.state.platform.agent.running[uuid.UUID(server_id)]
    return int(running.instance.pid)


async def test_an_org_with_a_running_server_is_not_deleted_and_the_server_keeps_its_owner(
    app: FastAPI, client: httpx.AsyncClient, admin: Account, user: Account
) -> None:
    org_id = await _org(client, user)
    server = await _echo_server(client, user, org_id)
    await status_of(client, user, str(server["id"]), "running", timeout=60)

    refused = await client.delete(f"/api/orgs/{org_id}", headers=user.headers)

    error = assert_error(refused, 409, "org_has_servers")
    assert error["details"] == {"servers": 1}
    assert "1 server" in str(error["message"]) and "delete_servers=true" in str(error["message"])
    assert (await client.get(f"/api/orgs/{org_id}", headers=user.headers)).status_code == 200
    seen = await client.get(f"/api/servers/{server['id']}", headers=admin.headers)
    assert seen.status_code == 200 and seen.json()["org_id"] == org_id
    assert alive(_pid(app, str(server["id"])))


async def test_deleting_an_org_with_its_servers_stops_them_and_removes_their_data(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: Account,
    user: Account,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    org_id = await _org(client, user)
    server = await _echo_server(client, user, org_id)
    server_id = str(server["id"])
    await status_of(client, user, server_id, "running", timeout=60)
    pid = _pid(app, server_id)
    data = settings.home / "servers" / server_id
    assert data.exists()

    deleted = await client.delete(f"/api/orgs/{org_id}?delete_servers=true", headers=user.headers)

    assert deleted.status_code == 204, deleted.text

    async def gone() -> bool:
        return not alive(pid) and not data.exists()

    await eventually(gone, bool, timeout=30, what="the server's process and data gone")
    assert (await client.get(f"/api/servers/{server_id}", headers=admin.headers)).status_code == 404
    assert (await client.get(f"/api/orgs/{org_id}", headers=admin.headers)).status_code == 404
    assert uuid.UUID(server_id) not in app.state.platform.agent.running
    await app.state.platform.agent.logs.flush()  # nothing is left that the log writer cannot store
    assert not [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


async def test_repeating_create_and_delete_never_leaves_more_running_than_the_quota_allows(
    app: FastAPI, client: httpx.AsyncClient, user: Account
) -> None:
    pids = []
    for _ in range(2):
        org_id = await _org(client, user)
        server = await _echo_server(client, user, org_id)
        await status_of(client, user, str(server["id"]), "running", timeout=60)
        pids.append(_pid(app, str(server["id"])))
        assert (await client.delete(f"/api/orgs/{org_id}", headers=user.headers)).status_code == 409
        assert (await client.delete(f"/api/orgs/{org_id}?delete_servers=true", headers=user.headers)).status_code == 204

    async def none_alive() -> bool:
        return not any(alive(pid) for pid in pids)

    await eventually(none_alive, bool, timeout=30, what="no process of a deleted organisation alive")
    assert app.state.platform.agent.running == {}


@pytest.mark.parametrize("servers", [0, 2])
async def test_who_may_delete_and_what_goes(
    client: httpx.AsyncClient, admin: Account, user: Account, servers: int
) -> None:
    org_id = await _org(client, user)
    member = await sign_up(client, "member@example.com")
    added = await client.post(
        f"/api/orgs/{org_id}/members", json={"email": member.email, "role": "admin"}, headers=user.headers
    )
    assert added.status_code == 201
    for index in range(servers):
        body = {"name": f"s{index}", "source": PACKAGE | {"identifier": "x"}, "org_id": org_id, "start": False}
        created = await client.post("/api/servers", json=body, headers=user.headers)
        assert created.status_code == 201, created.text

    not_owner = await client.delete(f"/api/orgs/{org_id}?delete_servers=true", headers=member.headers)
    deleted = await client.delete(f"/api/orgs/{org_id}", headers=user.headers)

    assert_error(not_owner, 403, "insufficient_role")
    if servers:
        error = assert_error(deleted, 409, "org_has_servers")
        assert f"{servers} servers" in str(error["message"])
        assert (
            await client.delete(f"/api/orgs/{org_id}?delete_servers=true", headers=admin.headers)
        ).status_code == 204
    else:
        assert deleted.status_code == 204
    listed = (await client.get("/api/servers", headers=admin.headers)).json()["items"]
    assert listed == []


async def _personal_echo_server(client: httpx.AsyncClient, owner: Account) -> dict[str, object]:
    source = {"type": "command", "command": [sys.executable, str(ECHO)]}
    response = await client.post("/api/servers", json={"name": "mine", "source": source}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_deleting_a_user_who_owns_a_running_server_is_refused_or_takes_the_server_along(
    app: FastAPI, client: httpx.AsyncClient, admin: Account, user: Account, settings: Settings
) -> None:
    server = await _personal_echo_server(client, user)
    server_id = str(server["id"])
    await status_of(client, user, server_id, "running", timeout=60)
    pid = _pid(app, server_id)

    refused = await client.delete(f"/api/users/{user.id}", headers=admin.headers)
    still_running = alive(pid)
    deleted = await client.delete(f"/api/users/{user.id}?delete_servers=true", headers=admin.headers)

    error = assert_error(refused, 409, "user_has_servers")
    assert error["details"] == {"servers": 1} and "delete_servers=true" in str(error["message"])
    assert still_running
    assert deleted.status_code == 204, deleted.text

    async def gone() -> bool:
        return not alive(pid) and not (settings.home / "servers" / server_id).exists()

    await eventually(gone, bool, timeout=30, what="the deleted user's server process and data gone")
    assert (await client.get(f"/api/servers/{server_id}", headers=admin.headers)).status_code == 404
    assert (await client.get(f"/api/users/{user.id}", headers=admin.headers)).status_code == 404
    signed_out = await client.get("/api/me", headers=user.headers)
    assert signed_out.status_code == 401


async def test_who_cannot_be_deleted(client: httpx.AsyncClient, admin: Account, user: Account) -> None:
    org_id = await _org(client, user)

    yourself = await client.delete(f"/api/users/{admin.id}", headers=admin.headers)
    sole_owner = await client.delete(f"/api/users/{user.id}", headers=admin.headers)
    not_admin = await client.delete(f"/api/users/{admin.id}", headers=user.headers)

    assert_error(yourself, 409, "cannot_delete_self")
    error = assert_error(sole_owner, 409, "sole_owner")
    assert "only owner of Doomed" in str(error["message"])
    assert not_admin.status_code == 403
    # Once the organisation has another owner, the account goes, and its organisation stays.
    other = await sign_up(client, "other@example.com")
    await client.post(f"/api/orgs/{org_id}/members", json={"email": other.email, "role": "owner"}, headers=user.headers)
    assert (await client.delete(f"/api/users/{user.id}", headers=admin.headers)).status_code == 204
    members = (await client.get(f"/api/orgs/{org_id}/members", headers=other.headers)).json()["members"]
    assert [member["email"] for member in members] == [other.email]
