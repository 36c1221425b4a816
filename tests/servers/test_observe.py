"""What users see of a running server: logs (tail, history, live), usage metrics, status stream, manifest and
capabilities. Streams are read over a real HTTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.servers.hosting import QUICK, deploy, fake, status_of
from tests.support.accounts import Account, assert_error, sign_up
from tests.support.live import serve
from tests.support.sse import open_stream
from tests.support.waiting import eventually


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **QUICK, events={"sse_heartbeat_seconds": 0.3})


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "owner@example.com")


@pytest.fixture
async def live(app: FastAPI) -> AsyncIterator[str]:
    """The base URL of the same app served over HTTP (streaming responses need a real server)."""
    async with serve(app, lifespan=False) as url:
        yield url


async def test_manifest_and_capabilities_after_start(client: httpx.AsyncClient, owner: Account) -> None:
    server = await deploy(client, owner)
    early = await client.get(f"/api/servers/{server['id']}/capabilities", headers=owner.headers)
    await status_of(client, owner, server["id"], "running")

    manifest = (await client.get(f"/api/servers/{server['id']}/manifest", headers=owner.headers)).json()
    capabilities = (await client.get(f"/api/servers/{server['id']}/capabilities", headers=owner.headers)).json()

    assert early.status_code in (200, 404)
    if early.status_code == 404:
        assert_error(early, 404, "not_synced")
    assert manifest["serverInfo"] == {"name": "fake", "version": "1.0"}
    assert manifest["protocolVersion"] == "2025-11-25"
    assert [tool["name"] for tool in capabilities["tools"]] == ["echo", "crash"]
    assert capabilities["resources"] == [] and capabilities["synced_at"] is not None


async def test_capabilities_of_another_users_server_are_404(client: httpx.AsyncClient, owner: Account) -> None:
    server = await deploy(client, owner)
    stranger = await sign_up(client, "stranger@example.com")

    for path in ("manifest", "capabilities", "logs", "logs/history", "metrics"):
        assert_error(
            await client.get(f"/api/servers/{server['id']}/{path}", headers=stranger.headers), 404, "not_found"
        )


async def test_logs_tail_and_history(app: FastAPI, client: httpx.AsyncClient, owner: Account) -> None:
    server = await deploy(client, owner)
    await status_of(client, owner, server["id"], "running")

    async def history() -> list[dict[str, Any]]:
        await app.state.platform.agent.logs.flush()
        return list((await client.get(f"/api/servers/{server['id']}/logs/history", headers=owner.headers)).json())

    # The instance's own output may reach the log a moment after its status says running (a busy machine).
    everything = await eventually(history, lambda rows: {row["stream"] for row in rows} >= {"platform", "stderr"})
    tail = (await client.get(f"/api/servers/{server['id']}/logs?tail=2", headers=owner.headers)).json()
    after = (
        await client.get(
            f"/api/servers/{server['id']}/logs/history?after_id={everything[0]['id']}", headers=owner.headers
        )
    ).json()

    assert len(tail) == 2 and tail == everything[-2:]
    assert [row["id"] for row in everything] == sorted(row["id"] for row in everything)
    assert {row["stream"] for row in everything} == {"platform", "stderr"}
    assert after == everything[1:]


async def test_live_logs_stream_new_lines_and_resume(live: str, client: httpx.AsyncClient, owner: Account) -> None:
    server = await deploy(client, owner)
    await status_of(client, owner, server["id"], "running")
    path = f"/api/servers/{server['id']}/logs/stream"

    async with open_stream(live, owner.headers, path=f"{path}?tail=1") as stream:
        first = await stream.event()
        await client.post(f"/api/servers/{server['id']}/stop", headers=owner.headers)
        received = await stream.events_until(lambda frame: "stopping" in frame.data)

    assert first.event == "log" and first.id is not None
    assert received[-1].id is not None and int(received[-1].id) > int(first.id)
    async with open_stream(live, owner.headers, last_event_id=first.id, path=path) as resumed:
        again = await resumed.event()
    assert again.json() == received[0].json()


async def test_status_stream_shows_transitions(live: str, client: httpx.AsyncClient, owner: Account) -> None:
    server = await deploy(client, owner, start=False)

    async with open_stream(live, owner.headers, path=f"/api/servers/{server['id']}/status/stream") as stream:
        await client.post(f"/api/servers/{server['id']}/start", headers=owner.headers)
        frames = await stream.events_until(lambda frame: frame.json()["data"]["status"] == "running")

    assert [frame.json()["data"]["status"] for frame in frames] == ["stopped", "installing", "starting", "running"]
    assert {frame.event for frame in frames} == {"server.status"}


async def test_metrics_count_lifecycle_events_per_interval(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    server = await deploy(client, owner)
    await status_of(client, owner, server["id"], "running")
    await fake(app).running[0].stop(0)
    await eventually(
        lambda: client.get(f"/api/servers/{server['id']}", headers=owner.headers),
        lambda r: r.json()["restart_count"] == 1 and r.json()["status"] == "running",
        what="the restart",
    )

    metrics = (await client.get(f"/api/servers/{server['id']}/metrics?interval=minute", headers=owner.headers)).json()
    only_crashes = (await client.get(f"/api/servers/{server['id']}/metrics?kind=crash", headers=owner.headers)).json()

    assert metrics["totals"] == {"create": 1, "start": 2, "crash": 1, "restart": 1}
    assert sum(bucket["counts"].get("start", 0) for bucket in metrics["buckets"]) == 2
    assert [event["kind"] for event in metrics["events"]][:1] == ["start"]
    assert [event["kind"] for event in only_crashes["events"]] == ["crash"]


async def test_metrics_stream_and_prometheus_series(live: str, client: httpx.AsyncClient, owner: Account) -> None:
    server = await deploy(client, owner)
    await status_of(client, owner, server["id"], "running")

    async with open_stream(live, owner.headers, path=f"/api/servers/{server['id']}/metrics/stream") as stream:
        await client.post(f"/api/servers/{server['id']}/restart", headers=owner.headers)
        frames = await stream.events_until(lambda frame: frame.json()["data"]["usage"] == "start")

    assert [frame.json()["data"]["usage"] for frame in frames] == ["restart", "start"]
    text = (await client.get("/metrics")).text
    assert f'mcphost_server_up{{server="{server["slug"]}"}} 1.0' in text
