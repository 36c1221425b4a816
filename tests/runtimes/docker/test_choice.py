"""Which runtime a new server gets, and what a user is told when Docker is not there."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.support.accounts import Account, sign_up

PACKAGE = {"type": "package", "registry_type": "pypi", "identifier": "mcp-server-time"}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    # No engine answers here: the embedded default must not need one.
    return make_settings(
        tmp_path / "home",
        database_url,
        runtime={"default": "process"},
        docker={"engine_url": f"unix://{tmp_path}/no-docker.sock"},
    )


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "owner@example.com")


async def test_without_an_engine_an_image_source_is_refused_with_the_reason(
    client: httpx.AsyncClient, owner: Account
) -> None:
    body = {"name": "boxed", "source": {"type": "image", "image": "example/server:1"}}
    response = await client.post("/api/servers", json=body, headers=owner.headers)

    assert response.status_code == 409, response.text
    assert "no Docker engine" in response.json()["error"]["message"]


async def test_packages_keep_the_process_runtime_and_may_ask_for_docker(
    client: httpx.AsyncClient, owner: Account
) -> None:
    plain = await client.post(
        "/api/servers", json={"name": "p", "source": PACKAGE, "start": False}, headers=owner.headers
    )
    asked = await client.post(
        "/api/servers", json={"name": "d", "source": PACKAGE, "runtime": "docker"}, headers=owner.headers
    )
    unknown = await client.post(
        "/api/servers", json={"name": "u", "source": PACKAGE, "runtime": "warp"}, headers=owner.headers
    )

    assert plain.status_code == 201 and plain.json()["runtime"] == "process"
    assert asked.status_code == 409 and "no Docker engine" in asked.json()["error"]["message"]
    assert unknown.status_code == 409 and "unknown runtime 'warp'" in unknown.json()["error"]["message"]
