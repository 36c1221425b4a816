"""Revision and webhook tests run on the fake runtime, like the server tests: an admin and a user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.support.accounts import Account, sign_up

PACKAGE = {"type": "package", "registry_type": "pypi", "identifier": "mcp-server-time"}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Settings a test changes (``@pytest.mark.parametrize("settings_overrides", [{...}])``)."""
    return {}


@pytest.fixture
def settings(tmp_path: Path, database_url: str, settings_overrides: dict[str, Any]) -> Settings:
    return make_settings(tmp_path / "home", database_url, **settings_overrides)


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "admin@example.com")


@pytest.fixture
async def user(client: httpx.AsyncClient, admin: Account) -> Account:
    return await sign_up(client, "user@example.com")


async def create(client: httpx.AsyncClient, who: Account, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/servers", json={"name": "Time", "source": PACKAGE} | body, headers=who.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def revisions(client: httpx.AsyncClient, who: Account, server_id: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"/api/servers/{server_id}/revisions", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def numbers(client: httpx.AsyncClient, who: Account, server_id: str) -> list[int]:
    return [item["number"] for item in (await revisions(client, who, server_id))["items"]]
