"""End to end with the real process runtime: a catalog server installed from PyPI, and the fixture server as a
command source, deployed through the API, run in the sandbox, crashed, restarted, stopped and deleted."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from mcphost.mcp.jsonrpc import ConnectionClosed
from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.servers.hosting import PROCESS, status_of
from tests.support.accounts import Account
from tests.support.pids import alive
from tests.support.waiting import eventually

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "echo_server.py"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **PROCESS)


def _instance_pids(app: FastAPI, server_id: str) -> list[int]:
    import uuid

    running = app.state.platform.agent.running.get(uuid.UUID(server_id))
    return [running.instance.pid] if running is not None else []


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int(
                    next(
                        line for line in (entry / "status").read_text().splitlines() if line.startswith("PPid:")
                    ).split()[1]
                )
            except (OSError, StopIteration):
                continue
            if ppid == pid:
                found += [int(entry.name), *_descendants(int(entry.name))]
    return found


async def _fixture_server(client: httpx.AsyncClient, admin: Account, **body: Any) -> dict[str, Any]:
    source = {"type": "command", "command": [sys.executable, str(FIXTURE)]}
    response = await client.post(
        "/api/servers", json={"name": "fixture", "source": source} | body, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_catalog_time_server_runs_and_lists_its_tools(client: httpx.AsyncClient, admin: Account) -> None:
    created = await client.post(
        "/api/servers",
        json={"name": "time", "source": {"type": "catalog", "name": "io.github.modelcontextprotocol/time"}},
        headers=admin.headers,
    )
    server = created.json()

    running = await status_of(client, admin, server["id"], "running", "error", timeout=180)

    assert running["status"] == "running", running["status_reason"]
    capabilities = (await client.get(f"/api/servers/{server['id']}/capabilities", headers=admin.headers)).json()
    assert {"get_current_time", "convert_time"} <= {tool["name"] for tool in capabilities["tools"]}
    manifest = (await client.get(f"/api/servers/{server['id']}/manifest", headers=admin.headers)).json()
    assert manifest["serverInfo"]["name"] == "mcp-time"


async def test_a_server_that_exits_is_restarted_and_stop_leaves_no_process(
    app: FastAPI, client: httpx.AsyncClient, admin: Account
) -> None:
    server = await _fixture_server(client, admin)
    await status_of(client, admin, server["id"], "running", timeout=60)
    [first] = _instance_pids(app, server["id"])
    tree = [first, *_descendants(first)]

    os.killpg(os.getpgid(first), signal.SIGKILL)
    restarted = await eventually(
        lambda: client.get(f"/api/servers/{server['id']}", headers=admin.headers),
        lambda r: r.json()["status"] == "running" and r.json()["restart_count"] == 1,
        timeout=60,
        what="a restart",
    )
    [second] = _instance_pids(app, server["id"])
    assert second != first and restarted.json()["restart_count"] == 1
    second_tree = [second, *_descendants(second)]

    await client.post(f"/api/servers/{server['id']}/stop", headers=admin.headers)
    await status_of(client, admin, server["id"], "stopped", timeout=30)

    assert not [pid for pid in tree + second_tree if alive(pid)]


async def test_a_server_that_dies_at_start_is_an_error_with_its_output(
    client: httpx.AsyncClient, admin: Account
) -> None:
    server = await _fixture_server(client, admin, env={"FIXTURE_FAIL_AT_START": "1"})

    failed = await status_of(client, admin, server["id"], "error", timeout=60)

    assert "exited with code 3" in failed["status_reason"]
    assert "missing configuration FIXTURE_SETTING" in failed["status_reason"]


async def test_delete_leaves_no_process_and_no_data(
    app: FastAPI, client: httpx.AsyncClient, admin: Account, settings: Settings
) -> None:
    server = await _fixture_server(client, admin)
    await status_of(client, admin, server["id"], "running", timeout=60)
    [pid] = _instance_pids(app, server["id"])
    tree = [pid, *_descendants(pid)]

    await client.delete(f"/api/servers/{server['id']}", headers=admin.headers)

    async def gone() -> bool:
        return not any(alive(p) for p in tree) and not (settings.home / "servers" / server["id"]).exists()

    await eventually(gone, bool, timeout=30, what="the process and data gone")


async def test_secrets_reach_the_server_but_no_log_line(
    app: FastAPI, client: httpx.AsyncClient, admin: Account
) -> None:
    server = await _fixture_server(client, admin, secret_env={"API_TOKEN": "tok-9f8e7d-secret"})
    await status_of(client, admin, server["id"], "running", timeout=60)
    import uuid

    running = app.state.platform.agent.running[uuid.UUID(server["id"])]
    report = await running.session.call_tool("whoami", {})
    await app.state.platform.agent.logs.flush()
    logs = (await client.get(f"/api/servers/{server['id']}/logs?tail=5000", headers=admin.headers)).text

    assert "tok-9f8e7d-secret" in report["content"][0]["text"]
    assert "MCPHOST_SECRET_KEY" not in report["content"][0]["text"]
    assert "tok-9f8e7d-secret" not in logs


async def test_a_streamable_http_command_server_runs_behind_a_free_port(
    client: httpx.AsyncClient, admin: Account
) -> None:
    http_server = Path(__file__).resolve().parents[1] / "fixtures" / "http_server.py"
    source = {
        "type": "command",
        "command": [sys.executable, str(http_server), "{port}"],
        "transport": "streamable-http",
        "url": "http://127.0.0.1:{port}/mcp",
    }
    created = await client.post("/api/servers", json={"name": "http", "source": source}, headers=admin.headers)

    running = await status_of(client, admin, created.json()["id"], "running", "error", timeout=60)

    assert running["status"] == "running", running["status_reason"]
    capabilities = (await client.get(f"/api/servers/{running['id']}/capabilities", headers=admin.headers)).json()
    assert {"echo", "add"} <= {tool["name"] for tool in capabilities["tools"]}

    # A change the server announces on its GET stream is synced too.
    grown = await client.post(
        f"/api/servers/{running['id']}/invoke",
        json={"method": "tools/call", "params": {"name": "grow"}},
        headers=admin.headers,
    )
    assert grown.json()["result"]["content"][0]["text"] == "grew"
    await eventually(
        lambda: client.get(f"/api/servers/{running['id']}/capabilities", headers=admin.headers),
        lambda r: any(tool["name"].startswith("grown_") for tool in r.json()["tools"]),
        what="the capability sync after list_changed",
    )


async def test_a_server_that_exits_after_n_calls_is_restarted_and_counted(
    app: FastAPI, client: httpx.AsyncClient, admin: Account
) -> None:
    import uuid

    server = await _fixture_server(client, admin, env={"FIXTURE_EXIT_AFTER_CALLS": "2"})
    await status_of(client, admin, server["id"], "running", timeout=60)
    session = app.state.platform.agent.running[uuid.UUID(server["id"])].session

    answers = [await session.call_tool("echo", {"text": f"call {n}"}) for n in range(2)]
    with pytest.raises(ConnectionClosed):
        await session.call_tool("echo", {"text": "one too many"})
    restarted = await eventually(
        lambda: client.get(f"/api/servers/{server['id']}", headers=admin.headers),
        lambda r: r.json()["status"] == "running" and r.json()["restart_count"] == 1,
        timeout=60,
        what="the restart",
    )
    metrics = (await client.get(f"/api/servers/{server['id']}/metrics", headers=admin.headers)).json()

    assert [answer["content"][0]["text"] for answer in answers] == ["call 0", "call 1"]
    assert restarted.json()["restart_count"] == 1
    assert metrics["totals"]["crash"] == 1 and metrics["totals"]["restart"] == 1
    crash = next(event for event in metrics["events"] if event["kind"] == "crash")
    assert crash["data"]["exit_code"] == 7
