"""Helpers of the workflow tests: defining workflows, running them through the API, waiting for runs to finish."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.accounts import Account
from tests.support.waiting import eventually

FINISHED = ("succeeded", "failed", "cancelled")


def step(step_id: str, server: str, tool: str = "echo", **fields: Any) -> dict[str, Any]:
    return {"id": step_id, "server": server, "tool": tool, **fields}


async def define(client: httpx.AsyncClient, owner: Account, **body: Any) -> httpx.Response:
    return await client.post("/api/workflows", json={"name": "flow"} | body, headers=owner.headers)


async def created(client: httpx.AsyncClient, owner: Account, **body: Any) -> dict[str, Any]:
    response = await define(client, owner, **body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def start(client: httpx.AsyncClient, owner: Account, workflow: dict[str, Any], **data: Any) -> dict[str, Any]:
    response = await client.post(f"/api/workflows/{workflow['id']}/run", json={"input": data}, headers=owner.headers)
    assert response.status_code == 202, response.text
    return dict(response.json())


async def finished(
    client: httpx.AsyncClient, owner: Account, workflow: dict[str, Any], run: dict[str, Any], timeout: float = 30
) -> dict[str, Any]:
    """The run's detail once it has finished."""

    async def probe() -> dict[str, Any]:
        response = await client.get(f"/api/workflows/{workflow['id']}/runs/{run['id']}", headers=owner.headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    return await eventually(probe, lambda r: r["status"] in FINISHED, timeout=timeout, what="the run's end")


def steps_of(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["step_id"]: item for item in run["steps"]}
