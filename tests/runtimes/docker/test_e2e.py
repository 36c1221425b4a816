# ruff: noqa: S108 -- /tmp here is a container's own tmpfs
"""End to end on Docker: image sources deployed through the API, called through the gateway, crashed and restarted
by the lifecycle layer, isolated per session, deleted without leftovers; and refused clearly without an engine."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
from fastapi import FastAPI

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.gateway.mcp_http import McpHttp
from tests.runtimes.docker.images import HTTP_IMAGE, NODE_BASE, PYTHON_BASE, STDIO_IMAGE
from tests.servers.hosting import QUICK, status_of
from tests.support.accounts import Account, sign_up
from tests.support.waiting import eventually

STDIO = {"type": "image", "image": STDIO_IMAGE}
HTTP = {"type": "image", "image": HTTP_IMAGE, "transport": "streamable-http"}


@pytest.fixture
def settings(tmp_path: Path, database_url: str, docker_client: docker.DockerClient) -> Settings:
    runtime = QUICK["runtime"] | {"node_name": f"e2e-{uuid.uuid4().hex[:10]}", "start_timeout_seconds": 60}
    return make_settings(
        tmp_path / "home",
        database_url,
        **(QUICK | {"runtime": runtime, "builds": {"python_image": PYTHON_BASE, "node_image": NODE_BASE}}),
    )


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "owner@example.com")


async def _deploy(client: httpx.AsyncClient, owner: Account, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/servers", json={"name": "boxed", "source": STDIO} | body, headers=owner.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _containers(docker_client: docker.DockerClient, server_id: str) -> list[dict[str, Any]]:
    """The server's containers, as the engine lists them (no inspection: one may be going away meanwhile)."""
    return list(docker_client.api.containers(all=True, filters={"label": f"org.mcphost.server={server_id}"}))


def _text(answer: dict[str, Any]) -> str:
    return str(answer["result"]["content"][0]["text"])


async def test_an_image_server_answers_through_the_gateway_and_delete_leaves_no_container(
    client: httpx.AsyncClient, owner: Account, docker_client: docker.DockerClient
) -> None:
    server = await _deploy(client, owner, secret_env={"API_TOKEN": "tok-123"}, config={"mode": "fast"})
    running = await status_of(client, owner, server["id"], "running", "error", timeout=90)
    assert running["status"] == "running", running["status_reason"]
    assert server["runtime"] == "docker"  # image sources go to Docker when an engine answers

    session = McpHttp(client, server["slug"], server["access_key"])
    await session.initialize()
    echoed = _text(await session.call("echo", text="through the gateway"))
    me = json.loads(_text(await session.call("whoami")))
    [listed] = _containers(docker_client, server["id"])
    container = docker_client.containers.get(listed["Id"])

    assert echoed == "through the gateway"
    assert me["env"]["API_TOKEN"] == "tok-123" and me["env"]["CFG_MODE"] == "fast" and me["uid"] == 65534
    assert "tok-123" not in json.dumps([container.attrs["Config"]["Labels"], container.attrs["Config"]["Cmd"]])

    await client.delete(f"/api/servers/{server['id']}", headers=owner.headers)
    await eventually(lambda: _async(_containers(docker_client, server["id"])), lambda c: c == [], timeout=30)


async def test_a_crashed_container_is_restarted_by_the_lifecycle(
    app: FastAPI, client: httpx.AsyncClient, owner: Account, docker_client: docker.DockerClient
) -> None:
    server = await _deploy(client, owner)
    await status_of(client, owner, server["id"], "running", timeout=90)
    [first] = _containers(docker_client, server["id"])

    docker_client.api.kill(first["Id"])
    restarted = await eventually(
        lambda: client.get(f"/api/servers/{server['id']}", headers=owner.headers),
        lambda r: r.json()["status"] == "running" and r.json()["restart_count"] == 1,
        timeout=90,
        what="a restart",
    )
    [second] = _containers(docker_client, server["id"])

    lines = [
        line["line"] for line in (await client.get(f"/api/servers/{server['id']}/logs", headers=owner.headers)).json()
    ]
    assert second["Id"] != first["Id"] and restarted.json()["restart_count"] == 1
    assert any("exited with code -9; restarting" in line for line in lines), lines
    await client.post(f"/api/servers/{server['id']}/stop", headers=owner.headers)
    await status_of(client, owner, server["id"], "stopped", timeout=30)
    assert _containers(docker_client, server["id"]) == []


async def test_per_session_isolation_gives_each_session_its_own_container(
    client: httpx.AsyncClient, owner: Account, docker_client: docker.DockerClient
) -> None:
    server = await _deploy(client, owner, isolation="per_session")
    await status_of(client, owner, server["id"], "running", timeout=90)
    first = McpHttp(client, server["slug"], server["access_key"])
    second = McpHttp(client, server["slug"], server["access_key"])
    await first.initialize()
    await second.initialize()
    await first.call("try_write", path="/tmp/mine")
    sees_it = _text(await first.call("try_read", path="/tmp/mine"))
    other_sees = _text(await second.call("try_read", path="/tmp/mine"))

    instances = {c["Labels"]["org.mcphost.instance"] for c in _containers(docker_client, server["id"])}
    assert len(instances) == 3  # the main instance and one per session
    assert sees_it.startswith("ok") and other_sees.startswith("denied")

    await client.delete(first.path, headers=first._headers())
    await eventually(lambda: _async(_containers(docker_client, server["id"])), lambda c: len(c) == 2, timeout=30)
    await client.delete(f"/api/servers/{server['id']}", headers=owner.headers)
    await eventually(lambda: _async(_containers(docker_client, server["id"])), lambda c: c == [], timeout=30)


async def test_a_streamable_http_image_answers_through_the_gateway(client: httpx.AsyncClient, owner: Account) -> None:
    server = await _deploy(client, owner, source=HTTP)
    running = await status_of(client, owner, server["id"], "running", "error", timeout=90)
    assert running["status"] == "running", running["status_reason"]

    session = McpHttp(client, server["slug"], server["access_key"])
    await session.initialize()
    assert _text(await session.call("add", a=2, b=40)) == "42"


async def test_an_unknown_image_puts_the_server_in_error_with_the_reason(
    client: httpx.AsyncClient, owner: Account
) -> None:
    server = await _deploy(client, owner, source={"type": "image", "image": "mcphost-test/missing:1"})

    failed = await status_of(client, owner, server["id"], "error", timeout=60)

    assert "mcphost-test/missing:1 is not on this Docker engine and could not be pulled" in failed["status_reason"]


async def test_a_registry_login_is_kept_sealed_and_never_shown(client: httpx.AsyncClient, owner: Account) -> None:
    login = {"username": "robot", "password": "registry-pass-77"}
    server = await _deploy(client, owner, source=STDIO | {"registry_auth": login}, start=False)
    shown = (await client.get(f"/api/servers/{server['id']}", headers=owner.headers)).json()

    assert server["source"]["registry_auth"] == {"username": "robot", "password": "********"}
    assert "registry-pass-77" not in json.dumps(shown)


async def _async(value: Any) -> Any:
    return value
