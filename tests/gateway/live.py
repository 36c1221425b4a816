"""A live MCP Host (uvicorn on a loopback port, real process runtime) hosting fixture servers, for tests that use
real MCP clients against the gateway."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from mcphost.api import create_app
from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.servers.hosting import QUICK, status_of
from tests.support.accounts import Account, sign_up
from tests.support.live import serve

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CONFORMANCE_SERVER = FIXTURES / "conformance_server.py"
PROCESS = QUICK | {"runtime": QUICK["runtime"] | {"default": "process", "sandbox": "auto", "start_timeout_seconds": 60}}


def live_settings(home: Path, database_url: str, **overrides: Any) -> Settings:
    return make_settings(home, database_url, **(PROCESS | overrides))


@dataclass
class LiveHost:
    url: str
    client: httpx.AsyncClient
    admin: Account

    async def host(self, command: list[str], *, url: str | None = None, **body: Any) -> tuple[dict[str, Any], str]:
        """Deploy a command server (stdio, or Streamable HTTP at ``url``), wait until it runs; the server and a
        fresh access key."""
        source: dict[str, Any] = {"type": "command", "command": command}
        if url is not None:
            source |= {"transport": "streamable-http", "url": url}
        response = await self.client.post(
            "/api/servers", json={"name": "fixture", "source": source} | body, headers=self.admin.headers
        )
        assert response.status_code == 201, response.text
        server = dict(response.json())
        await status_of(self.client, self.admin, server["id"], "running", timeout=60)
        key = await self.client.post(f"/api/servers/{server['id']}/keys", json={}, headers=self.admin.headers)
        assert key.status_code == 201, key.text
        return server, str(key.json()["key"])

    async def host_conformance_server(self, *, http: bool = False, **body: Any) -> tuple[dict[str, Any], str]:
        if http:
            command = [sys.executable, str(CONFORMANCE_SERVER), "--http", "{port}"]
            return await self.host(command, url="http://127.0.0.1:{port}/mcp", **body)
        return await self.host([sys.executable, str(CONFORMANCE_SERVER)], **body)


@asynccontextmanager
async def live_host(settings: Settings) -> AsyncIterator[LiveHost]:
    app = create_app(settings)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
        admin = await sign_up(client, "admin@example.com")
        yield LiveHost(url, client, admin)
