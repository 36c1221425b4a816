"""The evaluations API (``/api/evaluations``): suites, cases, runs and the scoreboard.

Module-level functions over ``MCPHostClient.request``; like the client's methods they return the API's JSON
unchanged and raise ``ApiError`` or ``Unreachable``.

    async with MCPHostClient(url, token) as api:
        run = await evaluations.start_run(api, suite_id)
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from mcphost.client._errors import ApiError
from mcphost.client.resources import is_uuid

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

__all__ = [
    "FINISHED",
    "add_case",
    "create_suite",
    "delete_case",
    "delete_suite",
    "get_run",
    "latest_run",
    "list_cases",
    "list_runs",
    "list_suites",
    "record_cases",
    "resolve_suite",
    "scoreboard",
    "start_run",
    "wait_for_run",
]

BASE = "/api/evaluations"
FINISHED = frozenset({"passed", "failed", "error"})


async def list_suites(client: MCPHostClient) -> list[dict[str, Any]]:
    return list(await client.request("GET", f"{BASE}/suites"))


async def resolve_suite(client: MCPHostClient, ref: str) -> dict[str, Any]:
    """The suite named by ``ref``: its id, or else its name (when only one suite you see has it)."""
    if is_uuid(ref):
        return dict(await client.request("GET", f"{BASE}/suites/{ref}"))
    named = [suite for suite in await list_suites(client) if suite["name"] == ref]
    if len(named) == 1:
        return named[0]
    if named:
        raise ApiError(409, "ambiguous", f"Several suites are named {ref!r}; use an id.")
    raise ApiError(404, "not_found", f"No evaluation suite with the id or name {ref!r}.")


async def create_suite(client: MCPHostClient, name: str, **fields: Any) -> dict[str, Any]:
    body = {"name": name, **{key: value for key, value in fields.items() if value is not None}}
    return dict(await client.request("POST", f"{BASE}/suites", json=body))


async def delete_suite(client: MCPHostClient, suite_id: str) -> None:
    await client.request("DELETE", f"{BASE}/suites/{suite_id}")


async def list_cases(client: MCPHostClient, suite_id: str) -> list[dict[str, Any]]:
    return list(await client.request("GET", f"{BASE}/suites/{suite_id}/cases"))


async def add_case(client: MCPHostClient, suite_id: str, **case: Any) -> dict[str, Any]:
    body = {key: value for key, value in case.items() if value is not None}
    return dict(await client.request("POST", f"{BASE}/suites/{suite_id}/cases", json=body))


async def delete_case(client: MCPHostClient, suite_id: str, case_id: str) -> None:
    await client.request("DELETE", f"{BASE}/suites/{suite_id}/cases/{case_id}")


async def record_cases(client: MCPHostClient, suite_id: str, **filters: Any) -> dict[str, Any]:
    """Turn the server's recorded calls into cases: ``{"created": [...], "skipped": [{invocation, reason}]}``."""
    body = {key: value for key, value in filters.items() if value is not None}
    return dict(await client.request("POST", f"{BASE}/suites/{suite_id}/cases/from-invocations", json=body))


async def start_run(client: MCPHostClient, suite_id: str, server_id: str | None = None) -> dict[str, Any]:
    body = {"server_id": server_id} if server_id else {}
    return dict(await client.request("POST", f"{BASE}/suites/{suite_id}/runs", json=body))


async def list_runs(client: MCPHostClient, suite_id: str, limit: int = 20) -> list[dict[str, Any]]:
    return list(await client.request("GET", f"{BASE}/suites/{suite_id}/runs", params={"limit": limit}))


async def get_run(client: MCPHostClient, run_id: str) -> dict[str, Any]:
    return dict(await client.request("GET", f"{BASE}/runs/{run_id}"))


async def latest_run(client: MCPHostClient, suite_id: str) -> dict[str, Any]:
    runs = await list_runs(client, suite_id, 1)
    if not runs:
        raise ApiError(404, "not_found", "The suite has not run yet; start a run with `mcphost evals run`.")
    return await get_run(client, runs[0]["id"])


async def wait_for_run(
    client: MCPHostClient, run_id: str, seconds: float, on_progress: Any = None, interval: float = 0.5
) -> dict[str, Any]:
    """Poll the run until it has finished (``on_progress(run)`` after each look); the run as it is after
    ``seconds`` otherwise (an unfinished run is an answer too: the caller says what to do next)."""
    deadline = time.monotonic() + seconds
    while True:
        run = await get_run(client, run_id)
        if on_progress is not None:
            on_progress(run)
        if run["status"] in FINISHED or time.monotonic() >= deadline:
            return run
        await asyncio.sleep(interval)


async def scoreboard(client: MCPHostClient, suite_id: str | None = None) -> dict[str, Any]:
    return dict(await client.request("GET", f"{BASE}/scoreboard", params={"suite_id": suite_id}))
