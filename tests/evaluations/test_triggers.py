"""What starts runs besides a user: a new revision of a covered server going live (once per revision, not on a
restart), and the schedule, whose due suite runs once even when two schedulers race for it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from mcphost.db.base import utcnow
from mcphost.models import EvaluationSuite
from mcphost.services.evaluations import EvaluationScheduler
from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.evaluations.helpers import case, finished, hosted, make_due, suite
from tests.servers.hosting import QUICK, status_of
from tests.support.accounts import Account, sign_up
from tests.support.waiting import eventually


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **QUICK)


async def _runs(client: httpx.AsyncClient, owner: Account, suite_id: str) -> list[dict[str, Any]]:
    return list((await client.get(f"/api/evaluations/suites/{suite_id}/runs", headers=owner.headers)).json())


async def test_a_redeploy_runs_the_suites_cases_of_that_server_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await sign_up(client, "owner@example.com")
    server, other = await hosted(client, owner, "watched"), await hosted(client, owner, "other")
    found = await suite(client, owner)
    quiet = await suite(client, owner, "not on deploy", run_on_deploy=False)
    await case(client, owner, found["id"], server["id"], arguments={"text": "v"}, expected="v")
    await case(client, owner, found["id"], other["id"], arguments={"text": "w"}, expected="w")
    await case(client, owner, quiet["id"], server["id"], arguments={"text": "v"}, expected="v")

    redeployed = await client.post(f"/api/servers/{server['id']}/redeploy", headers=owner.headers)
    assert redeployed.status_code == 202, redeployed.text
    runs = await eventually(lambda: _runs(client, owner, found["id"]), lambda seen: len(seen) == 1, what="a run")
    done = await finished(client, owner, runs[0]["id"])

    assert done["trigger"] == "deploy" and done["revision"] == 2 and done["server_id"] == server["id"]
    assert done["status"] == "passed" and [result["server_id"] for result in done["results"]] == [server["id"]]
    assert done["run_as"] == str(owner.id)
    assert await _runs(client, owner, quiet["id"]) == []

    # A restart of the same revision is not a redeploy: nothing more runs.
    await client.post(f"/api/servers/{server['id']}/restart", headers=owner.headers)
    await status_of(client, owner, server["id"], "running")
    await asyncio.sleep(0.5)
    assert len(await _runs(client, owner, found["id"])) == 1

    await client.post(f"/api/servers/{server['id']}/redeploy", headers=owner.headers)
    again = await eventually(lambda: _runs(client, owner, found["id"]), lambda seen: len(seen) == 2, what="a run")
    assert again[0]["revision"] == 3 and again[0]["trigger"] == "deploy"


async def test_two_schedulers_racing_run_a_due_suite_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await sign_up(client, "owner@example.com")
    server = await hosted(client, owner)
    found = await suite(client, owner)
    await case(client, owner, found["id"], server["id"], arguments={"text": "s"}, expected="s")
    await make_due(app, found["id"], interval=3600)
    platform = app.state.platform
    loops = [EvaluationScheduler(platform.db, platform.settings.evaluations) for _ in range(2)]

    await asyncio.gather(*(loop.run_once() for loop in loops))
    await asyncio.gather(*(loop.run_once() for loop in loops))

    runs = await _runs(client, owner, found["id"])
    assert len(runs) == 1 and runs[0]["trigger"] == "schedule"
    done = await finished(client, owner, runs[0]["id"])
    assert done["status"] == "passed" and done["average_score"] == 1.0
    async with platform.db.session_scope() as session:
        row = await session.get(EvaluationSuite, uuid.UUID(found["id"]))
        assert row is not None and row.next_run_at is not None
        assert row.next_run_at > utcnow() + timedelta(minutes=59)  # the next one is an interval away


async def test_the_schedule_is_set_and_cleared_through_the_api(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await sign_up(client, "owner@example.com")
    found = await suite(client, owner, schedule_seconds=600)

    cleared = await client.patch(
        f"/api/evaluations/suites/{found['id']}", json={"schedule_seconds": None}, headers=owner.headers
    )

    assert found["schedule_seconds"] == 600 and found["next_run_at"] is not None
    assert cleared.status_code == 200 and cleared.json()["schedule_seconds"] is None
    assert cleared.json()["next_run_at"] is None
