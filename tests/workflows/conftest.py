"""Workflow tests host servers on the fake runtime (the end-to-end ones on the process runtime, in their module)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.servers.hosting import QUICK, deploy, status_of
from tests.support.accounts import Account, sign_up


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **QUICK)


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    await sign_up(client, "admin@example.com")  # the first account is the instance's administrator
    return await sign_up(client, "owner@example.com")


async def running(client: httpx.AsyncClient, owner: Account, name: str, **body: Any) -> dict[str, Any]:
    server = await deploy(client, owner, name=name, **body)
    await status_of(client, owner, server["id"], "running")
    return server
