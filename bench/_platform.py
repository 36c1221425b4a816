"""Shared by the benchmarks: an MCP Host app on a scratch home, driven through its API in-process."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from mcphost.api import create_app
from mcphost.settings import Settings

PASSWORD = "correct horse battery staple"


def settings_for(home: Path, **runtime: Any) -> Settings:
    return Settings(
        home=home,
        secret_key="benchmark-secret-key-0123456789-abcdefghij",
        logging={"access_log": False, "level": "WARNING"},
        services={"enabled": True},
        jobs={"poll_interval": 0.1, "concurrency": 16},
        runtime={"host": True, "default": "process", **runtime},
        auth={"password_hash_memory_kib": 1024, "password_hash_iterations": 1},
    )


@asynccontextmanager
async def platform_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A started app and an admin-authenticated client talking to it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client:
            await client.post("/api/auth/register", json={"email": "bench@example.com", "password": PASSWORD})
            login = await client.post("/api/auth/login", json={"email": "bench@example.com", "password": PASSWORD})
            client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
            await client.patch(f"/api/users/{(await client.get('/api/me')).json()['id']}", json={"server_quota": 1000})
            client.app = app  # type: ignore[attr-defined]
            yield client


async def wait_running(client: httpx.AsyncClient, server_ids: list[str], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    pending = set(server_ids)
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} servers not running after {timeout}s")
        for server_id in list(pending):
            server = (await client.get(f"/api/servers/{server_id}")).json()
            if server["status"] == "running":
                pending.discard(server_id)
            elif server["status"] == "error":
                raise RuntimeError(f"server {server_id} failed: {server['status_reason']}")
        if pending:
            await asyncio.sleep(0.05)


def median(values: list[float]) -> float:
    return statistics.median(values)
