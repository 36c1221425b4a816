"""Nodes: a hosting process registers its node and keeps its heartbeat; administrators list the nodes with their
state; every replica's directory says which are up, down (an old heartbeat) or stopped, and since when."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from mcphost.db.base import utcnow
from mcphost.models import Node
from mcphost.nodes.directory import NodeDirectory
from mcphost.nodes.heartbeat import NodeHeartbeat
from mcphost.nodes.repository import NodeRepository
from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.servers.hosting import QUICK, deploy
from tests.support.accounts import sign_up
from tests.support.waiting import eventually


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(
        tmp_path / "home",
        database_url,
        **QUICK,
        nodes={"heartbeat_seconds": 0.1, "down_after_seconds": 0.5, "internal_url": "http://10.1.2.3:8700/"},
    )


async def test_a_hosting_process_registers_its_node_and_administrators_list_it(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await sign_up(client, "admin@example.com")
    member = await sign_up(client, "member@example.com")
    await deploy(client, admin)

    async def listed() -> list[dict[str, object]]:
        return list((await client.get("/api/nodes", headers=admin.headers)).json())

    nodes = await eventually(listed, lambda found: len(found) == 1, what="the node registered")
    refused = await client.get("/api/nodes", headers=member.headers)

    node = nodes[0]
    assert node["name"] == settings.runtime.node_name
    assert node["internal_url"] == "http://10.1.2.3:8700"
    assert (node["state"], node["down_since"], node["stopped_at"]) == ("up", None, None)
    assert node["servers"] == 1
    assert refused.status_code == 403


async def test_the_directory_tells_up_down_and_stopped_nodes_apart(app: FastAPI, settings: Settings) -> None:
    db = app.state.platform.db
    now = utcnow()
    async with db.session_scope() as session:
        repository = NodeRepository(session)
        for name in ("fresh", "silent", "gone"):
            await repository.register(name, f"http://{name}:8700", "machine-1")
        await session.execute(
            sa.update(Node).where(Node.name == "silent").values(heartbeat_at=now - timedelta(minutes=1))
        )
        await repository.stopped("gone", now - timedelta(seconds=5))
    directory = NodeDirectory(db, settings.nodes)

    await directory.refresh()

    states = {view.name: directory.state(view) for view in directory.all() if view.name != settings.runtime.node_name}
    silent, gone = directory.get("silent"), directory.get("gone")
    assert states == {"fresh": "up", "silent": "down", "gone": "stopped"}
    assert silent is not None and silent.down_since(0.5) == silent.heartbeat_at + timedelta(seconds=0.5)
    assert gone is not None and gone.down_since(0.5) == now - timedelta(seconds=5)
    assert await directory.find("unknown") is None


async def test_a_node_that_stops_cleanly_is_stopped_at_once(app: FastAPI, settings: Settings) -> None:
    db = app.state.platform.db
    heartbeat = NodeHeartbeat(db, make_settings(settings.home, settings.database_url, runtime={"node_name": "other"}))
    await heartbeat.run_once()
    directory = NodeDirectory(db, settings.nodes)
    await directory.refresh()
    before = directory.get("other")

    await heartbeat.on_stop()
    await directory.refresh()

    after = directory.get("other")
    assert before is not None and directory.state(before) == "up"
    assert after is not None and directory.state(after) == "stopped" and after.stopped_at is not None
    assert after.internal_url == "http://127.0.0.1:8700"  # where mcphost up listens, by default
