"""Running workflows on the fake runtime: outputs flow into later steps (a whole-value reference keeps its JSON type),
the run history shows each step's rendered input, output, attempts and timing; a missing output field fails its step
with the reason and skips the steps after it; a step whose server is down is retried, and a run can be cancelled;
runs at once per user are bounded."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.servers.hosting import QUICK, status_of
from tests.support.accounts import Account, assert_error
from tests.support.waiting import eventually
from tests.workflows.conftest import running
from tests.workflows.helpers import created, finished, start, step, steps_of


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(
        tmp_path / "home",
        database_url,
        **QUICK,
        workflows={"max_active_runs_per_user": 2},
        traces={"flush_interval_seconds": 0.05},
    )


async def test_outputs_flow_into_later_steps_and_the_history_shows_each_step(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    alpha = await running(client, owner, "alpha")
    beta = await running(client, owner, "beta")
    workflow = await created(
        client,
        owner,
        input_schema={"type": "object", "properties": {"n": {"type": "integer"}, "who": {"type": "string"}}},
        steps=[
            step("count", alpha["slug"], arguments={"text": "{{ input.n }}"}),
            step("name", beta["slug"], arguments={"text": "{{ input.who|upper }}"}),
            step("next", beta["slug"], arguments={"text": "{{ steps.count.output + 1 }}"}),
            step("say", alpha["slug"], arguments={"text": "{{ steps.name.output }} has {{ steps.next.output }}"}),
        ],
    )
    run = await start(client, owner, workflow, n=41, who="ada")
    assert run["status"] == "queued" and run["steps"] is None
    done = await finished(client, owner, workflow, run)
    assert done["status"] == "succeeded", done
    assert done["output"] == "ADA has 42"
    steps = steps_of(done)
    assert steps["count"]["input"] == {"text": 41} and steps["count"]["output"] == 41  # a number stays a number
    assert steps["next"]["input"] == {"text": 42} and steps["next"]["output"] == 42
    assert steps["say"]["input"] == {"text": "ADA has 42"}
    for item in steps.values():
        assert item["status"] == "succeeded" and item["attempts"] == 1 and item["error"] is None
        assert item["duration_ms"] >= 0
        assert datetime.fromisoformat(item["started_at"]) <= datetime.fromisoformat(item["finished_at"])
    assert datetime.fromisoformat(steps["say"]["started_at"]) >= datetime.fromisoformat(steps["next"]["finished_at"])
    listed = (await client.get(f"/api/workflows/{workflow['id']}/runs", headers=owner.headers)).json()
    assert [item["id"] for item in listed["items"]] == [run["id"]] and listed["items"][0]["status"] == "succeeded"

    async def traced() -> list[str]:
        answer = await client.get(f"/api/servers/{alpha['id']}/invocations", headers=owner.headers)
        return [str(item.get("name")) for item in answer.json()["items"]]

    await eventually(traced, lambda names: names.count("echo") == 2, what="both calls on alpha traced")

    bad_input = await client.post(
        f"/api/workflows/{workflow['id']}/run", json={"input": {"n": "many"}}, headers=owner.headers
    )
    error = assert_error(bad_input, 422, "invalid_input")
    assert "'n' must be integer" in str(error["message"])


async def test_a_missing_output_field_fails_its_step_and_skips_the_steps_after_it(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    alpha = await running(client, owner, "alpha")
    workflow = await created(
        client,
        owner,
        steps=[
            step("geo", alpha["slug"], arguments={"text": "Paris"}),
            step("weather", alpha["slug"], arguments={"text": "{{ steps.geo.output.lat }}"}, retry={"attempts": 3}),
            step("report", alpha["slug"], arguments={"text": "{{ steps.weather.output }}"}),
        ],
    )
    done = await finished(client, owner, workflow, await start(client, owner, workflow))
    assert done["status"] == "failed"
    steps = steps_of(done)
    assert steps["geo"]["status"] == "succeeded" and steps["geo"]["output"] == "Paris"
    weather = steps["weather"]
    assert weather["status"] == "failed" and weather["attempts"] == 0  # never called: nothing to retry
    assert "{{ steps.geo.output.lat }}" in weather["error"] and "no attribute 'lat'" in weather["error"]
    assert steps["report"]["status"] == "skipped" and "step 'weather' failed" in steps["report"]["error"]
    assert "step 'weather' failed" in done["error"]


async def test_a_step_on_a_stopped_server_is_retried_and_the_run_can_be_cancelled(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    alpha = await running(client, owner, "alpha")
    workflow = await created(
        client,
        owner,
        steps=[step("a", alpha["slug"], arguments={"text": "x"}, retry={"attempts": 2, "backoff_seconds": 0.1})],
    )
    await client.post(f"/api/servers/{alpha['id']}/stop", headers=owner.headers)
    await status_of(client, owner, alpha["id"], "stopped")
    failed = await finished(client, owner, workflow, await start(client, owner, workflow))
    step_run = steps_of(failed)["a"]
    assert failed["status"] == "failed" and step_run["attempts"] == 2
    assert "is not running" in step_run["error"] and "after 2 attempts" in step_run["error"]

    slow = await created(
        client,
        owner,
        name="slow",
        steps=[step("a", alpha["slug"], retry={"attempts": 10, "backoff_seconds": 30})],
    )
    first = await start(client, owner, slow)
    second = await start(client, owner, slow)
    refused = await client.post(f"/api/workflows/{slow['id']}/run", json={"input": {}}, headers=owner.headers)
    assert_error(refused, 429, "rate_limited")
    assert refused.headers["retry-after"]

    async def status_of_first() -> str:
        response = await client.get(f"/api/workflows/{slow['id']}/runs/{first['id']}", headers=owner.headers)
        return str(response.json()["status"])

    await eventually(status_of_first, lambda status: status == "running", what="the first run running")
    for run in (first, second):
        cancelled = await client.post(f"/api/workflows/{slow['id']}/runs/{run['id']}/cancel", headers=owner.headers)
        assert cancelled.status_code == 200, cancelled.text
    done = await finished(client, owner, slow, first, timeout=5)  # well before the 30 s backoff ends
    assert done["status"] == "cancelled" and steps_of(done)["a"]["status"] == "cancelled"
    assert (await finished(client, owner, slow, second, timeout=5))["status"] == "cancelled"
    again = await client.post(f"/api/workflows/{slow['id']}/runs/{first['id']}/cancel", headers=owner.headers)
    assert_error(again, 409, "invalid_transition")
