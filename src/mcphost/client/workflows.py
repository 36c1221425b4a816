"""Workflows over ``MCPHostClient.request``: define, list, read, delete, run, and read runs. Like the client's methods,
the functions return the API's JSON unchanged and raise ``ApiError`` or ``Unreachable``.

    async with MCPHostClient(url, token) as api:
        workflow = await workflows.resolve(api, "trip")
        run = await workflows.run(api, workflow["id"], {"city": "Paris"})
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

from mcphost.client._client import pick_named

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

__all__ = ["create", "delete", "get", "get_run", "list_all", "list_runs", "resolve", "run", "update", "wait"]
FINISHED = ("succeeded", "failed", "cancelled")


async def create(client: MCPHostClient, definition: dict[str, Any]) -> dict[str, Any]:
    """Define a workflow (``{"name", "steps", …}``, as ``POST /api/workflows`` takes it)."""
    return dict(await client.request("POST", "/api/workflows", json=definition))


async def update(client: MCPHostClient, workflow_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    return dict(await client.request("PATCH", f"/api/workflows/{workflow_id}", json=changes))


async def list_all(client: MCPHostClient) -> list[dict[str, Any]]:
    """Every workflow of yours (all pages)."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.request("GET", "/api/workflows", params={"limit": 200, "cursor": cursor})
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


async def get(client: MCPHostClient, workflow_id: str) -> dict[str, Any]:
    return dict(await client.request("GET", f"/api/workflows/{workflow_id}"))


async def resolve(client: MCPHostClient, ref: str) -> dict[str, Any]:
    """The workflow named by ``ref``: its id, else its slug (or its name, when only one has it)."""
    try:
        uuid.UUID(ref)
    except ValueError:
        return pick_named(await list_all(client), ref, "workflow")
    return await get(client, ref)


async def delete(client: MCPHostClient, workflow_id: str) -> None:
    await client.request("DELETE", f"/api/workflows/{workflow_id}")


async def run(client: MCPHostClient, workflow_id: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Queue a run; the answer is the queued run (follow it with ``wait``)."""
    return dict(await client.request("POST", f"/api/workflows/{workflow_id}/run", json={"input": data or {}}))


async def list_runs(client: MCPHostClient, workflow_id: str, *, limit: int = 20) -> list[dict[str, Any]]:
    page = await client.request("GET", f"/api/workflows/{workflow_id}/runs", params={"limit": limit})
    return list(page["items"])


async def get_run(client: MCPHostClient, workflow_id: str, run_id: str) -> dict[str, Any]:
    return dict(await client.request("GET", f"/api/workflows/{workflow_id}/runs/{run_id}"))


async def wait(client: MCPHostClient, workflow_id: str, run_id: str, *, interval: float = 0.5) -> dict[str, Any]:
    """The run's detail once it has finished (polled)."""
    while True:
        found = await get_run(client, workflow_id, run_id)
        if found["status"] in FINISHED:
            return found
        await asyncio.sleep(interval)
