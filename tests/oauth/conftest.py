"""Fixtures of the OAuth tests: the app with the fake runtime hosting servers, an owner with two running servers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.gateway.mcp_http import hosted_with_key
from tests.servers.hosting import QUICK
from tests.support.accounts import Account, sign_up


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **QUICK)


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "owner@example.com")


@pytest.fixture
async def servers(client: httpx.AsyncClient, owner: Account) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two running servers of the owner: A (the one authorised) and B."""
    first, _ = await hosted_with_key(client, owner, name="alpha")
    second, _ = await hosted_with_key(client, owner, name="beta")
    return first, second
