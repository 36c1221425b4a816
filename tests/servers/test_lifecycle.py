"""The lifecycle of hosted servers on the fake runtime: start, handshake and capability sync, stop, crash and
restart with backoff, crash loops, failures at install and start, health checks, deletion, platform restarts."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi import FastAPI

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.servers.hosting import PACKAGE, QUICK, deploy, fake, status_of
from tests.support.accounts import Account, sign_in, sign_up
from tests.support.apps import app_client
from tests.support.waiting import eventually


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **QUICK)


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "owner@example.com")


async def test_a_deployed_server_runs_and_its_capabilities_are_synced(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    server = await deploy(client, owner, env={"PLAIN": "1"}, config={"region": "eu"}, secret_env={"TOKEN": "t0ken"})

    running = await status_of(client, owner, server["id"], "running")

    assert running["last_started_at"] is not None
    instance = fake(app).running[0]
    assert instance.spec.env == {"PLAIN": "1", "CFG_REGION": "eu", "TOKEN": "t0ken"}
    assert instance.spec.data_dir.is_dir()


async def test_stop_and_start_again(app: FastAPI, client: httpx.AsyncClient, owner: Account) -> None:
    server = await deploy(client, owner)
    await status_of(client, owner, server["id"], "running")

    await client.post(f"/api/servers/{server['id']}/stop", headers=owner.headers)
    await status_of(client, owner, server["id"], "stopped")
    assert fake(app).running == []

    await client.post(f"/api/servers/{server['id']}/start", headers=owner.headers)
    await status_of(client, owner, server["id"], "running")
    assert len(fake(app).running) == 1


async def test_a_crash_is_restarted_and_counted(app: FastAPI, client: httpx.AsyncClient, owner: Account) -> None:
    server = await deploy(client, owner)
    await status_of(client, owner, server["id"], "running")
    first = fake(app).running[0]

    await first.stop(0)  # the process dies on its own
    restarted = await eventually(
        lambda: client.get(f"/api/servers/{server['id']}", headers=owner.headers),
        lambda r: r.json()["status"] == "running" and r.json()["restart_count"] == 1,
        what="a restart",
    )

    assert fake(app).running and fake(app).running[0] is not first
    assert restarted.json()["status_reason"] is None


async def test_a_crash_loop_ends_in_error_instead_of_spinning(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    server = await deploy(client, owner, env={"FAKE_EXIT_AFTER_SECONDS": "0.05"})

    failed = await status_of(client, owner, server["id"], "error")

    assert "crash loop" in failed["status_reason"] and "3 times in a row" in failed["status_reason"]
    assert len(fake(app).instances) == 3 and fake(app).running == []


async def test_a_server_that_dies_at_start_ends_in_error_with_its_last_output(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    server = await deploy(client, owner, env={"FAKE_FAIL_AT_START": "1"})

    failed = await status_of(client, owner, server["id"], "error")

    assert "failed to start: exited with code 3" in failed["status_reason"]
    assert "missing configuration; refusing to start" in failed["status_reason"]
    assert len(fake(app).instances) == 1  # not retried in a loop


async def test_a_failed_installation_is_an_error_saying_why(client: httpx.AsyncClient, owner: Account) -> None:
    server = await deploy(client, owner, source={**PACKAGE, "identifier": "missing-package"})

    failed = await status_of(client, owner, server["id"], "error")

    assert "installation failed: package missing-package was not found" in failed["status_reason"]


async def test_a_server_that_stops_answering_ping_is_restarted(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    server = await deploy(client, owner, env={"FAKE_IGNORE_PINGS": "1"})

    crashed = await status_of(client, owner, server["id"], "crashed", "error")

    assert "stopped answering ping" in crashed["status_reason"]


async def test_changing_configuration_restarts_with_the_new_environment(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    server = await deploy(client, owner, config={"level": "low"})
    await status_of(client, owner, server["id"], "running")

    await client.patch(f"/api/servers/{server['id']}", json={"config": {"level": "high"}}, headers=owner.headers)

    await eventually(
        lambda: _running_env(app), lambda env: env.get("CFG_LEVEL") == "high", what="the new configuration"
    )
    assert len(fake(app).running) == 1


async def _running_env(app: FastAPI) -> dict[str, str]:
    running = fake(app).running
    return running[0].spec.env if running else {}


async def test_deleting_stops_the_server_and_removes_its_data(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    server = await deploy(client, owner)
    await status_of(client, owner, server["id"], "running")
    data = fake(app).running[0].spec.data_dir

    await client.delete(f"/api/servers/{server['id']}", headers=owner.headers)

    async def probe() -> bool:
        return not fake(app).running and not data.exists()

    await eventually(probe, bool, what="the server gone")


async def test_transitions_are_published_as_events(app: FastAPI, client: httpx.AsyncClient, owner: Account) -> None:
    statuses: list[str] = []
    async with app.state.platform.bus.subscribe() as subscription:
        server = await deploy(client, owner)
        async for event in subscription:
            if event.kind == "server.status" and event.data["id"] == server["id"]:
                statuses.append(event.data["status"])
                if event.data["status"] == "running":
                    break

    assert statuses == ["installing", "starting", "running"]


async def test_servers_that_should_run_come_back_after_a_platform_restart(settings: Settings) -> None:
    async with app_client(settings) as client:
        owner = await sign_up(client, "owner@example.com")
        server = await deploy(client, owner)
        await status_of(client, owner, server["id"], "running")
        stopped = await deploy(client, owner, name="idle", start=False)

    async with app_client(settings) as client:
        owner = await sign_in(client, "owner@example.com")
        back = await status_of(client, owner, server["id"], "running")
        idle = (await client.get(f"/api/servers/{stopped['id']}", headers=owner.headers)).json()
        runtime = client.app.state.platform.runtimes.get("fake")  # type: ignore[attr-defined]

        assert back["restart_count"] == 0
        assert idle["status"] == "stopped"
        assert len(runtime.running) == 1


async def test_platform_lines_and_server_output_are_logged(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    server = await deploy(client, owner)
    await status_of(client, owner, server["id"], "running")

    async def lines() -> list[str]:
        await app.state.platform.agent.logs.flush()
        import sqlalchemy as sa

        from mcphost.models import ServerLog

        async with app.state.platform.db.session_scope() as session:
            return list(await session.scalars(sa.select(ServerLog.line).order_by(ServerLog.id)))

    def complete(found: list[str]) -> bool:  # "running" is said just after the status changed
        return "fake: ready" in found and any(line.startswith("running") for line in found)

    logged = await eventually(lines, complete, what="the server's output")
    assert any(line.startswith("preparing fake-server") for line in logged)
    assert orjson.dumps(logged)


async def test_capabilities_are_synced_again_when_the_server_says_they_changed(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    server = await deploy(client, owner)
    await status_of(client, owner, server["id"], "running")
    running = app.state.platform.agent.running[uuid.UUID(server["id"])]

    await running.session.call_tool("grow", {})

    async def tools() -> list[str]:
        capabilities = (await client.get(f"/api/servers/{server['id']}/capabilities", headers=owner.headers)).json()
        return [tool["name"] for tool in capabilities["tools"]]

    assert await eventually(tools, lambda names: "grown_2" in names, what="the new tool") == [
        "echo",
        "crash",
        "grown_2",
    ]
