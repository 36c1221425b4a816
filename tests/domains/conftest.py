"""Domain tests: the platform with custom domains on, asking a real DNS server (pebble-challtestsrv, where every
name resolves to 127.0.0.1 and the test sets TXT records) to verify; an owner, another user, and a server each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.domains.tools import Dns, dns_server, free_port
from tests.servers.hosting import deploy
from tests.support.accounts import Account, sign_up


@pytest.fixture
async def dns(tmp_path: Path) -> AsyncIterator[Dns]:
    async with dns_server(tmp_path) as server:
        yield server


def domain_settings(dns: Dns, **overrides: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "dns_resolvers": [dns.resolver],
        "http_port": free_port(),  # nothing listens there unless a test serves the platform on it
        "https_port": free_port(),
        "verify_timeout_seconds": 3,
    } | overrides


@pytest.fixture
def settings(tmp_path: Path, database_url: str, dns: Dns) -> Settings:
    return make_settings(tmp_path / "home", database_url, domains=domain_settings(dns))


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    await sign_up(client, "admin@example.com")  # the first account is the administrator
    return await sign_up(client, "owner@example.com")


@pytest.fixture
async def stranger(client: httpx.AsyncClient, owner: Account) -> Account:
    return await sign_up(client, "stranger@example.com")


@pytest.fixture
async def server(client: httpx.AsyncClient, owner: Account) -> dict[str, Any]:
    return await deploy(client, owner, name="weather")
