"""Helpers for tests that host servers on the fake runtime with quick timings."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from mcphost.runtimes.fake import FakeRuntime
from tests.support.accounts import Account
from tests.support.waiting import eventually

QUICK = {
    "runtime": {
        "host": True,
        "restart_backoff_seconds": 0.05,
        "restart_backoff_max_seconds": 0.2,
        "crash_loop_restarts": 3,
        "health_check_interval_seconds": 0.1,
        "health_check_timeout_seconds": 0.2,
        "health_check_failures": 2,
        "start_timeout_seconds": 5,
        "stop_grace_seconds": 0.5,
    },
    "jobs": {"poll_interval": 0.05},
    "server_logs": {"flush_interval_seconds": 0.05},
}
PACKAGE = {"type": "package", "registry_type": "pypi", "identifier": "fake-server"}
#: The real process runtime, sandboxed, with time for Python to start on a loaded machine.
PROCESS = QUICK | {
    "runtime": QUICK["runtime"] | {"default": "process", "sandbox": "required", "start_timeout_seconds": 60}
}


def fake(app: FastAPI) -> FakeRuntime:
    runtime = app.state.platform.runtimes.get("fake")
    assert isinstance(runtime, FakeRuntime)
    return runtime


async def deploy(client: httpx.AsyncClient, owner: Account, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/servers", json={"name": "srv", "source": PACKAGE} | body, headers=owner.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def status_of(
    client: httpx.AsyncClient, owner: Account, server_id: str, *wanted: str, timeout: float = 10
) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        return dict((await client.get(f"/api/servers/{server_id}", headers=owner.headers)).json())

    return await eventually(probe, lambda s: s["status"] in wanted, timeout=timeout, what=f"status {wanted}")
