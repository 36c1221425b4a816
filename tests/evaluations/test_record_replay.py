"""Record and replay: calls a client made through the MCP endpoint become cases in one action, expecting the answers
recorded then, and they pass when replayed; calls that cannot be replayed faithfully are listed with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.evaluations.helpers import run, suite
from tests.gateway.mcp_http import McpHttp, hosted_with_key
from tests.servers.hosting import QUICK
from tests.support.accounts import assert_error, sign_up
from tests.support.waiting import eventually


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **QUICK)


async def test_recorded_calls_become_cases_that_pass_on_replay(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await sign_up(client, "owner@example.com")
    server, key = await hosted_with_key(client, owner)
    mcp = McpHttp(client, server["slug"], key)
    await mcp.initialize()
    for text in ("first answer", "second answer", "first answer", "long " * 1000, '{"n": 1, "tags": ["a"]}'):
        answer = await mcp.request("tools/call", {"name": "echo", "arguments": {"text": text}})
        assert "result" in answer, answer
    records = f"/api/servers/{server['id']}/invocations"

    async def traced() -> int:
        return len((await client.get(records, params={"tool": "echo"}, headers=owner.headers)).json()["items"])

    await eventually(traced, lambda count: count == 5, what="5 recorded calls")
    found = await suite(client, owner)
    path = f"/api/evaluations/suites/{found['id']}/cases/from-invocations"

    recorded = await client.post(path, json={"server_id": server["id"], "tool": "echo"}, headers=owner.headers)

    assert recorded.status_code == 201, recorded.text
    created, skipped = recorded.json()["created"], recorded.json()["skipped"]
    assert {case["expected"] for case in created} == {'{"n": 1, "tags": ["a"]}', "first answer", "second answer"}
    assert len(created) == 3
    assert all(case["match_mode"] == "exact" and case["recorded_from"] for case in created)
    assert {case["arguments"]["text"] for case in created} == {case["expected"] for case in created}
    reasons = " | ".join(item["reason"] for item in skipped)
    assert len(skipped) == 2
    assert "cut to the trace budget" in reasons and "the same call (tool and arguments)" in reasons

    replayed = await run(client, owner, found["id"])
    assert replayed["status"] == "passed" and replayed["passed"] == 3 and replayed["average_score"] == 1.0

    # The replay's own calls are recorded too (8 in all): the same calls, so recording again makes nothing new.
    await eventually(traced, lambda count: count == 8, what="the replayed calls recorded")
    again = await client.post(path, json={"server_id": server["id"]}, headers=owner.headers)
    assert again.json()["created"] == [] and len(again.json()["skipped"]) == 8

    subset = await suite(client, owner, "structured")
    structured = await client.post(
        f"/api/evaluations/suites/{subset['id']}/cases/from-invocations",
        json={"server_id": server["id"], "match_mode": "json_subset", "limit": 1},
        headers=owner.headers,
    )
    assert [case["expected"] for case in structured.json()["created"]] == [{"n": 1, "tags": ["a"]}]
    later = datetime.now(UTC) + timedelta(hours=1)
    nothing = await client.post(
        f"/api/evaluations/suites/{subset['id']}/cases/from-invocations",
        json={"server_id": server["id"], "since": later.isoformat()},
        headers=owner.headers,
    )
    assert nothing.json() == {"created": [], "skipped": []}
    unknown = await client.post(path, json={"server_id": server["id"], "tool": "nope"}, headers=owner.headers)
    assert_error(unknown, 422, "unknown_tool")
