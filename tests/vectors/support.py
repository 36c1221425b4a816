"""Helpers of the vector database tests: quick supervisor timings, waiting for a database and for a job."""

from __future__ import annotations

from typing import Any

import httpx

from tests.servers.hosting import PROCESS
from tests.support.accounts import Account
from tests.support.waiting import eventually

#: The real process runtime (sandboxed) hosting servers, and a supervisor that checks and restarts quickly; Chroma
#: runs as a process whether or not this machine has Docker (test_container runs it in a container).
VECTORS = PROCESS | {
    "vectors": {
        "runtime": "process",
        "check_interval_seconds": 0.2,
        "restart_backoff_seconds": 0.2,
        "restart_backoff_max_seconds": 1.0,
    },
}


async def create_db(client: httpx.AsyncClient, owner: Account, name: str = "kb", **body: Any) -> dict[str, Any]:
    response = await client.post("/api/vector-dbs", json={"name": name, **body}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def db_status(
    client: httpx.AsyncClient, owner: Account, db_id: str, accept: Any, timeout: float = 60, what: str = "db state"
) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        return dict((await client.get(f"/api/vector-dbs/{db_id}", headers=owner.headers)).json())

    return await eventually(probe, accept, timeout=timeout, what=what)


async def finished_job(client: httpx.AsyncClient, owner: Account, job_id: str, timeout: float = 120) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        return dict((await client.get(f"/api/ingestion-jobs/{job_id}", headers=owner.headers)).json())

    return await eventually(
        probe, lambda job: job["status"] not in ("queued", "running"), timeout=timeout, what="job finished"
    )
