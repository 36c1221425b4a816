"""Redeploys without downtime, on the real process runtime with the fixture server: the new revision starts beside
the serving one, traffic moves once it answers MCP, calls in flight finish on the old one; a redeploy that fails
leaves the previous revision serving; a restart still stops before it starts."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.gateway.mcp_http import McpHttp
from tests.servers.hosting import PROCESS, status_of
from tests.support.accounts import Account
from tests.support.pids import alive
from tests.support.waiting import eventually

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "echo_server.py"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    # The fixture answers one request at a time: pings wait behind a slow call, so they must not time out first.
    runtime = PROCESS["runtime"] | {"health_check_interval_seconds": 5, "health_check_timeout_seconds": 5}
    return make_settings(tmp_path / "home", database_url, **(PROCESS | {"runtime": runtime}))


async def _hosted(client: httpx.AsyncClient, admin: Account, **body: Any) -> tuple[dict[str, Any], McpHttp]:
    """The fixture server, running, and a client session with it through the gateway."""
    source = {"type": "command", "command": [sys.executable, str(FIXTURE)]}
    created = await client.post(
        "/api/servers", json={"name": "rolling", "source": source} | body, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    server = created.json()
    await status_of(client, admin, server["id"], "running", timeout=60)
    session = McpHttp(client, server["slug"], server["access_key"])
    await session.initialize()
    return server, session


def _pid(app: FastAPI, server_id: str) -> int:
    running = app.state.platform.agent.running[uuid.UUID(server_id)]
    return int(running.instance.pid)


async def _revision_env(session: McpHttp) -> str | None:
    answer = await session.call("whoami")
    revision = json.loads(answer["result"]["content"][0]["text"])["env"].get("REVISION")
    return str(revision) if revision is not None else None


async def _redeployed(app: FastAPI, client: httpx.AsyncClient, admin: Account, server_id: str, revision: int) -> None:
    """Wait until ``revision`` serves: the instance the gateway relays to runs it, and the server says running."""
    agent = app.state.platform.agent

    async def probe() -> tuple[int, str]:
        running = agent.running.get(uuid.UUID(server_id))
        status = (await client.get(f"/api/servers/{server_id}", headers=admin.headers)).json()["status"]
        return (running.revision if running is not None else 0), status

    await eventually(probe, lambda seen: seen == (revision, "running"), timeout=60, what=f"revision {revision} serving")


async def _log_lines(client: httpx.AsyncClient, admin: Account, server_id: str) -> list[str]:
    answer = await client.get(f"/api/servers/{server_id}/logs?tail=1000", headers=admin.headers)
    return [line["line"] for line in answer.json()]


async def test_a_redeploy_under_load_loses_no_call_and_the_old_revision_stops(
    app: FastAPI, client: httpx.AsyncClient, admin: Account
) -> None:
    server, session = await _hosted(client, admin, env={"REVISION": "1"})
    statuses: list[str] = []
    failures: list[str] = []
    seen: dict[int, list[str]] = {number: [] for number in range(4)}  # the revision that answered, per caller
    stop = asyncio.Event()

    async def caller(number: int) -> None:
        while not stop.is_set():
            try:
                seen[number].append(str(await _revision_env(session)))
            except Exception as exc:
                failures.append(f"caller {number}: {type(exc).__name__}: {exc}")
            await asyncio.sleep(0.01)

    async def watch() -> None:
        async with app.state.platform.bus.subscribe() as subscription:
            async for event in subscription:
                if event.kind == "server.status" and event.data["id"] == server["id"]:
                    statuses.append(event.data["status"])

    watcher = asyncio.create_task(watch())
    callers = [asyncio.create_task(caller(number)) for number in range(4)]
    pids = [_pid(app, server["id"])]
    # A slow call in flight when the traffic moves finishes on the revision that took it.
    slow = asyncio.create_task(session.call("sleep", seconds=1))
    for revision in (2, 3):
        await asyncio.sleep(0.3)
        patched = await client.patch(
            f"/api/servers/{server['id']}", json={"env": {"REVISION": str(revision)}}, headers=admin.headers
        )
        assert patched.status_code == 200, patched.text
        await _redeployed(app, client, admin, server["id"], revision)
        pids.append(_pid(app, server["id"]))
    await eventually(
        lambda: asyncio.sleep(0, seen),
        lambda seen: all(answers and answers[-1] == "3" for answers in seen.values()),
        what="every caller answered by revision 3",
    )
    stop.set()
    await asyncio.gather(*callers)
    watcher.cancel()

    assert failures == []
    for answers in seen.values():  # each caller moved from revision to revision, never back
        assert answers == sorted(answers) and answers[0] == "1" and answers[-1] == "3", answers
    assert (await slow)["result"]["content"][0]["text"] == "slept"
    assert statuses.count("updating") >= 2 and "stopped" not in statuses and "crashed" not in statuses
    assert len(set(pids)) == 3
    await eventually(
        lambda: asyncio.sleep(0, pids[:2]),
        lambda old: not any(alive(pid) for pid in old),
        what="the previous revisions' processes gone",
    )
    lines = await eventually(
        lambda: _log_lines(client, admin, server["id"]),
        lambda lines: any("revision 2 stopped" in line for line in lines),
        what="the log line of revision 2's stop",
    )
    assert any("redeploying: revision 2 starts beside revision 1" in line for line in lines)
    assert any("revision 1 stopped" in line and "after its calls in flight finished" in line for line in lines)


async def test_a_redeploy_that_fails_leaves_the_previous_revision_serving(
    app: FastAPI, client: httpx.AsyncClient, admin: Account
) -> None:
    server, session = await _hosted(client, admin, env={"REVISION": "1"})
    pid = _pid(app, server["id"])

    await client.patch(
        f"/api/servers/{server['id']}",
        json={"env": {"REVISION": "2", "FIXTURE_FAIL_AT_START": "1"}},
        headers=admin.headers,
    )
    failed = await eventually(
        lambda: client.get(f"/api/servers/{server['id']}", headers=admin.headers),
        lambda r: r.json()["status_reason"] is not None and "failed" in r.json()["status_reason"],
        timeout=60,
        what="the failed redeploy",
    )

    body = failed.json()
    assert body["status"] == "running" and body["revision"] == 2
    assert body["status_reason"].startswith(
        "the redeploy to revision 2 failed (failed to start: exited with code 3); revision 1 still serves"
    )
    assert "refusing to start" in body["status_reason"]  # its last output
    assert _pid(app, server["id"]) == pid and alive(pid)
    assert await _revision_env(session) == "1"
    metrics = (await client.get(f"/api/servers/{server['id']}/metrics", headers=admin.headers)).json()
    assert metrics["totals"].get("redeploy_failed") == 1, metrics["totals"]

    await client.patch(f"/api/servers/{server['id']}", json={"env": {"REVISION": "3"}}, headers=admin.headers)
    await _redeployed(app, client, admin, server["id"], 3)
    assert await _revision_env(session) == "3"


async def test_a_restart_stops_the_instance_before_starting_it_again(
    app: FastAPI, client: httpx.AsyncClient, admin: Account
) -> None:
    server, _ = await _hosted(client, admin)
    pid = _pid(app, server["id"])
    statuses: list[str] = []

    async with app.state.platform.bus.subscribe() as subscription:
        await client.post(f"/api/servers/{server['id']}/restart", headers=admin.headers)
        async for event in subscription:
            if event.kind == "server.status" and event.data["id"] == server["id"]:
                statuses.append(event.data["status"])
                if event.data["status"] == "running":
                    break

    assert "updating" not in statuses and statuses[-1] == "running"
    assert not alive(pid)
