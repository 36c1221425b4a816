"""What the runtime resolved a deploy to is recorded on the revision it deployed, by the lifecycle layer."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.servers.hosting import QUICK, deploy, status_of
from tests.support.accounts import Account, sign_up
from tests.support.waiting import eventually


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **QUICK)


async def test_the_prepared_artifact_is_recorded_on_the_revision_it_deployed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner: Account = await sign_up(client, "owner@example.com")
    server = await deploy(client, owner)
    await status_of(client, owner, server["id"], "running")
    await client.patch(f"/api/servers/{server['id']}", json={"env": {"A": "1"}}, headers=owner.headers)

    async def second() -> httpx.Response:
        return await client.get(f"/api/servers/{server['id']}/revisions/2", headers=owner.headers)

    resolved = await eventually(second, lambda r: r.json()["resolved"] is not None, what="revision 2 resolved")
    first = (await client.get(f"/api/servers/{server['id']}/revisions/1", headers=owner.headers)).json()

    assert first["resolved"] == {"name": "fake-server"}  # what the fake runtime's prepare says
    assert resolved.json()["resolved"] == {"name": "fake-server"}
