"""Per-user credentials are refused where a server's instances could read each other's environment: the process
runtime without its sandbox (every instance of a server runs as the same user, /proc/PID/environ is readable)."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.servers.hosting import PROCESS, status_of
from tests.support.accounts import sign_up

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "echo_server.py"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    runtime = PROCESS["runtime"] | {"sandbox": "off"}
    return make_settings(tmp_path / "home", database_url, **(PROCESS | {"runtime": runtime}))


async def test_without_the_sandbox_no_instance_starts_with_a_users_own_values(client: httpx.AsyncClient) -> None:
    admin = await sign_up(client, "admin@example.com")
    source = {"type": "command", "command": [sys.executable, str(FIXTURE)]}
    body = {"name": "own", "source": source, "isolation": "per_user", "per_user_env": ["TOKEN"]}
    server = (await client.post("/api/servers", json=body, headers=admin.headers)).json()
    await status_of(client, admin, server["id"], "running", timeout=60)
    await client.put(f"/api/servers/{server['id']}/credentials", json={"values": {"TOKEN": "t"}}, headers=admin.headers)

    called = await client.post(
        f"/api/servers/{server['id']}/invoke", json={"method": "tools/list"}, headers=admin.headers
    )

    assert called.status_code == 503, called.text  # the platform's setup, not the caller's request
    assert called.json()["error"]["code"] == "instance_unavailable"
    assert "without the sandbox: one user's instance could read another's" in called.json()["error"]["message"]
