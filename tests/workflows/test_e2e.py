"""Workflows end to end on the real process runtime with the fixture server (tests/fixtures/echo_server.py), behind a
live MCP Host: three steps over two servers, the two independent ones at the same time, run through the API and
called as one MCP tool with the official SDK client; retries of a server that exits and of a tool that fails; the
timeout of a slow step."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.client.streamable_http import streamable_http_client

from mcp import Client
from tests.gateway.live import FIXTURES, PROCESS, LiveHost, live_host, live_settings
from tests.support.accounts import create_token, sign_up
from tests.workflows.helpers import created, finished, start, step, steps_of

ECHO = FIXTURES / "echo_server.py"
INPUT = {
    "type": "object",
    "properties": {"pause": {"type": "number"}, "who": {"type": "string"}},
    "required": ["pause", "who"],
}


#: The fixture answers nothing while its sleep tool sleeps (it is single-threaded): health checks tolerate that.
PATIENT = PROCESS["runtime"] | {"health_check_interval_seconds": 2, "health_check_timeout_seconds": 10}


@pytest.fixture
async def host(tmp_path: Path, database_url: str) -> AsyncIterator[LiveHost]:
    async with live_host(live_settings(tmp_path / "home", database_url, runtime=PATIENT)) as running:
        yield running


async def fixture_server(host: LiveHost, name: str, **env: str) -> dict[str, Any]:
    server, _key = await host.host([sys.executable, str(ECHO)], name=name, env=env)
    return server


def sdk_client(url: str, token: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    return Client(streamable_http_client(url, http_client=http), mode="legacy")


def interval(item: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(item["started_at"]), datetime.fromisoformat(item["finished_at"])


async def test_three_steps_over_two_servers_run_in_parallel_and_as_one_mcp_tool(host: LiveHost) -> None:
    client, owner = host.client, host.admin
    maps = await fixture_server(host, "maps")
    weather = await fixture_server(host, "weather")
    workflow = await created(
        client,
        owner,
        name="Trip",
        description="Waits on two servers at once, then greets.",
        input_schema=INPUT,
        published=True,
        steps=[
            step("left", maps["slug"], "sleep", arguments={"seconds": "{{ input.pause }}"}),
            step("right", weather["slug"], "sleep", arguments={"seconds": "{{ input.pause }}"}),
            step(
                "join",
                maps["slug"],
                arguments={"text": "{{ steps.left.output }} and {{ steps.right.output }} for {{ input.who }}"},
            ),
        ],
    )
    done = await finished(client, owner, workflow, await start(client, owner, workflow, pause=1.5, who="Ada"))
    assert done["status"] == "succeeded", (done["error"], done["steps"])
    assert done["output"] == "slept and slept for Ada"
    steps = steps_of(done)
    (left_start, left_end), (right_start, right_end) = interval(steps["left"]), interval(steps["right"])
    assert left_start < right_end and right_start < left_end, steps  # the independent steps overlapped
    assert interval(steps["join"])[0] >= max(left_end, right_end)
    assert steps["left"]["input"] == {"seconds": 1.5}  # a whole-value reference keeps the number a number
    assert (
        datetime.fromisoformat(done["finished_at"]) - datetime.fromisoformat(done["started_at"])
    ).total_seconds() < 2.9

    token = await create_token(client, owner, "invoke")
    url = f"{host.url}/mcp/workflows/{workflow['slug']}"
    async with sdk_client(url, token) as mcp:
        tools = (await mcp.list_tools()).tools
        assert [tool.name for tool in tools] == [workflow["slug"]]
        assert tools[0].input_schema == INPUT and tools[0].description == workflow["description"]
        result = await mcp.call_tool(workflow["slug"], {"pause": 0.2, "who": "Bob"})
        assert result.is_error is False
        assert result.content[0].text == "slept and slept for Bob"  # type: ignore[union-attr]
        refused = await mcp.call_tool(workflow["slug"], {"pause": 0.2})
        assert refused.is_error is True
        assert "The input lacks who" in refused.content[0].text  # type: ignore[union-attr]
    runs = (await client.get(f"/api/workflows/{workflow['id']}/runs", headers=owner.headers)).json()["items"]
    assert [run["trigger"] for run in runs] == ["mcp", "api"] and runs[0]["status"] == "succeeded"

    other = await sign_up(client, "other@example.com")
    other_token = await create_token(client, other, "invoke")
    read_only = await create_token(client, owner, "read")
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"accept": "application/json, text/event-stream"}
    for credential, status in (("mcph_pat_wrong", 401), (other_token, 404), (read_only, 403), (None, 401)):
        auth = {"authorization": f"Bearer {credential}"} if credential else {}
        answer = await client.post(url, json=body, headers=headers | auth)
        assert answer.status_code == status, (credential, answer.text)
    unpublished = await client.patch(
        f"/api/workflows/{workflow['id']}", json={"published": False}, headers=owner.headers
    )
    assert unpublished.status_code == 200
    gone = await client.post(url, json=body, headers=headers | {"authorization": f"Bearer {token}"})
    assert gone.status_code == 404 and "No published workflow" in gone.text


async def test_retries_bring_a_step_through_a_server_restart_and_a_failing_tool_fails_after_its_attempts(
    host: LiveHost,
) -> None:
    client, owner = host.client, host.admin
    flaky = await fixture_server(host, "flaky", FIXTURE_EXIT_AFTER_CALLS="1")
    retry = {"attempts": 6, "backoff_seconds": 0.5, "backoff_multiplier": 1.5}
    workflow = await created(
        client,
        owner,
        steps=[
            step("first", flaky["slug"], arguments={"text": "one"}),
            step("second", flaky["slug"], arguments={"text": "{{ steps.first.output }} two"}, retry=retry),
        ],
    )
    done = await finished(client, owner, workflow, await start(client, owner, workflow), timeout=90)
    assert done["status"] == "succeeded", done
    assert done["output"] == "one two"
    assert steps_of(done)["second"]["attempts"] >= 2  # the first try killed the server; a later one got through

    steady = await fixture_server(host, "steady")
    failing = await created(
        client,
        owner,
        name="failing",
        steps=[step("boom", steady["slug"], "fail", retry={"attempts": 3, "backoff_seconds": 0.1})],
    )
    failed = await finished(client, owner, failing, await start(client, owner, failing), timeout=90)
    boom = steps_of(failed)["boom"]
    assert failed["status"] == "failed" and boom["status"] == "failed" and boom["attempts"] == 3
    assert "this tool always fails" in boom["error"] and "after 3 attempts" in boom["error"]


async def test_a_slow_step_times_out_with_the_reason(host: LiveHost) -> None:
    client, owner = host.client, host.admin
    slow = await fixture_server(host, "slow")
    workflow = await created(
        client,
        owner,
        steps=[
            step("nap", slow["slug"], "sleep", arguments={"seconds": 5}, timeout_seconds=0.5),
            step("after", slow["slug"], arguments={"text": "{{ steps.nap.output }}"}),
        ],
    )
    done = await finished(client, owner, workflow, await start(client, owner, workflow))
    nap = steps_of(done)["nap"]
    assert done["status"] == "failed" and nap["status"] == "failed"
    assert "did not answer within 0.5 s" in nap["error"] and nap["duration_ms"] < 3000
    assert steps_of(done)["after"]["status"] == "skipped"
