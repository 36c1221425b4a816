"""Runs are durable: a run queued by an API-only process waits in the database, survives that process, and is
executed by the next process that hosts the servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from mcphost.api import create_app
from tests.conftest import make_settings
from tests.servers.hosting import QUICK
from tests.support.accounts import sign_in, sign_up
from tests.workflows.conftest import running
from tests.workflows.helpers import created, finished, start, step, steps_of


@asynccontextmanager
async def process(home: Path, database_url: str, *, host: bool) -> AsyncIterator[httpx.AsyncClient]:
    """One MCP Host process on the shared home and database; ``host``: it hosts servers (and runs workflows)."""
    settings = make_settings(home, database_url, **(QUICK | {"runtime": QUICK["runtime"] | {"host": host}}))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_a_queued_run_survives_its_process_and_runs_where_servers_are_hosted(
    tmp_path: Path, database_url: str
) -> None:
    home = tmp_path / "home"
    async with process(home, database_url, host=True) as client:
        await sign_up(client, "admin@example.com")
        owner = await sign_up(client, "owner@example.com")
        server = await running(client, owner, "alpha")
        workflow: dict[str, Any] = await created(
            client, owner, steps=[step("only", server["slug"], arguments={"text": "{{ input.word }}"})]
        )

    async with process(home, database_url, host=False) as client:  # an API-only replica
        owner = await sign_in(client, "owner@example.com")
        run = await start(client, owner, workflow, word="later")
        await asyncio.sleep(1.0)
        waiting = await client.get(f"/api/workflows/{workflow['id']}/runs/{run['id']}", headers=owner.headers)
        assert waiting.json()["status"] == "queued"  # nobody here hosts the servers it calls

    async with process(home, database_url, host=True) as client:  # the hosting process is back
        owner = await sign_in(client, "owner@example.com")
        done = await finished(client, owner, workflow, run)
        assert done["status"] == "succeeded", done["error"]
        assert done["output"] == "later" and steps_of(done)["only"]["attempts"] == 1
