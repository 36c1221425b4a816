"""Hosting servers to evaluate (the fake runtime answers ``echo`` with its ``text``), and driving suites, cases and
runs through the API as a client would."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from mcphost.db.base import utcnow
from mcphost.models import EvaluationSuite
from tests.servers.hosting import deploy, status_of
from tests.support.accounts import Account
from tests.support.waiting import eventually

FINISHED = ("passed", "failed", "error")


async def hosted(client: httpx.AsyncClient, owner: Account, name: str = "srv", **body: Any) -> dict[str, Any]:
    """A running server on the fake runtime whose tools (echo, crash) are synced."""
    server = await deploy(client, owner, name=name, **body)
    await status_of(client, owner, server["id"], "running")
    return server


async def suite(client: httpx.AsyncClient, owner: Account, name: str = "answers", **body: Any) -> dict[str, Any]:
    created = await client.post("/api/evaluations/suites", json={"name": name} | body, headers=owner.headers)
    assert created.status_code == 201, created.text
    return dict(created.json())


async def case(client: httpx.AsyncClient, owner: Account, suite_id: str, server_id: str, **body: Any) -> dict[str, Any]:
    added = await client.post(
        f"/api/evaluations/suites/{suite_id}/cases",
        json={"server_id": server_id, "tool": "echo"} | body,
        headers=owner.headers,
    )
    assert added.status_code == 201, added.text
    return dict(added.json())


async def finished(client: httpx.AsyncClient, owner: Account, run_id: str, timeout: float = 20) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        return dict((await client.get(f"/api/evaluations/runs/{run_id}", headers=owner.headers)).json())

    return await eventually(probe, lambda run: run.get("status") in FINISHED, timeout=timeout, what="a finished run")


async def run(client: httpx.AsyncClient, owner: Account, suite_id: str, timeout: float = 20) -> dict[str, Any]:
    """Run the suite now and wait for its results."""
    started = await client.post(f"/api/evaluations/suites/{suite_id}/runs", headers=owner.headers)
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "queued"
    return await finished(client, owner, started.json()["id"], timeout)


def by_name(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {result["case_name"]: result for result in run["results"]}


async def make_due(app: FastAPI, suite_id: str, interval: int = 3600) -> None:
    """Schedule the suite and let its next run be due now (as if its interval had passed)."""
    async with app.state.platform.db.session_scope() as session:
        row = await session.get(EvaluationSuite, uuid.UUID(suite_id))
        assert row is not None
        row.schedule_seconds, row.next_run_at = interval, utcnow() - timedelta(seconds=1)
