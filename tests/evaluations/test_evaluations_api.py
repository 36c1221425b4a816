"""Evaluations through the API against servers hosted on the fake runtime (whose ``echo`` answers its ``text``):
each match mode scores as a user would expect, a stopped server is refused up front, the scoreboard ranks servers
by average score, another user's suite is not found, and bad input gets a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from mcphost.evaluations.triggers import start_due
from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.evaluations.helpers import by_name, case, finished, hosted, make_due, run, suite
from tests.pinning.orgs import org_server, team
from tests.servers.hosting import QUICK, status_of
from tests.support.accounts import assert_error, sign_up
from tests.support.waiting import eventually


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **QUICK)


async def test_each_match_mode_scores_the_real_answer(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await sign_up(client, "owner@example.com")
    server = await hosted(client, owner)
    found = await suite(client, owner)
    answer = json.dumps({"city": "Oslo", "temperature": {"value": 3, "unit": "C"}, "tags": ["cold", "dark"]})
    cases = [
        ("exact passes", {"text": "hello"}, "hello", "exact", None),
        ("exact fails", {"text": "hello!"}, "hello", "exact", None),
        ("contains", {"text": "the quick brown fox"}, "brown", "contains", None),
        ("contains fails", {"text": "the quick brown fox"}, "purple", "contains", None),
        (
            "subset",
            {"text": answer},
            {"city": "Oslo", "temperature": {"unit": "C"}, "tags": ["dark"]},
            "json_subset",
            None,
        ),
        ("subset half", {"text": answer}, {"city": "Oslo", "temperature": {"unit": "F"}}, "json_subset", None),
        ("similar", {"text": "MARHTA"}, "MARTHA", "similarity", 0.9),
        ("not similar", {"text": "goodbye moon"}, "hello world", "similarity", 0.9),
        ("similar default", {"text": "hello wurld"}, "hello world", "similarity", None),
    ]
    for name, arguments, expected, mode, threshold in cases:
        extra = {"threshold": threshold} if threshold is not None else {}
        await case(
            client,
            owner,
            found["id"],
            server["id"],
            name=name,
            arguments=arguments,
            expected=expected,
            match_mode=mode,
            **extra,
        )

    done = await run(client, owner, found["id"])
    results = by_name(done)

    assert done["status"] == "failed" and done["cases"] == 9
    assert results["exact passes"]["passed"] is True and results["exact passes"]["score"] == 1.0
    assert results["exact fails"]["passed"] is False and results["exact fails"]["score"] == 0.0
    assert results["exact fails"]["actual"] == "hello!"
    assert (results["contains"]["passed"], results["contains fails"]["passed"]) == (True, False)
    assert results["subset"]["passed"] is True and results["subset"]["score"] == 1.0
    assert results["subset"]["actual"]["temperature"] == {"value": 3, "unit": "C"}
    assert results["subset half"]["passed"] is False and results["subset half"]["score"] == pytest.approx(0.5)
    # Jaro-Winkler of MARTHA and MARHTA is the textbook 0.961.
    assert results["similar"]["passed"] is True and results["similar"]["score"] == pytest.approx(0.961, abs=0.001)
    assert results["not similar"]["passed"] is False and results["not similar"]["score"] < 0.6
    assert results["similar default"]["passed"] is True and results["similar default"]["score"] == pytest.approx(
        0.964, abs=0.001
    )
    assert all(result["error"] is None and result["duration_ms"] > 0 for result in done["results"])
    assert done["passed"] == 5 and done["pass_rate"] == pytest.approx(5 / 9, abs=1e-4)
    expected_average = (1 + 0 + 1 + 0 + 1 + 0.5 + 0.9611 + 0.4823 + 0.9636) / 9
    assert done["average_score"] == pytest.approx(expected_average, abs=0.001)

    listed = (await client.get(f"/api/evaluations/suites/{found['id']}", headers=owner.headers)).json()
    assert listed["case_count"] == 9 and listed["last_run"]["id"] == done["id"]

    async def traced() -> list[dict[str, object]]:
        answer = await client.get(
            f"/api/servers/{server['id']}/invocations", params={"tool": "echo"}, headers=owner.headers
        )
        return list(answer.json()["items"])

    # Evaluations are traced like any call (records are written in batches).
    await eventually(traced, lambda items: len(items) == 9, what="9 traced calls")


async def test_a_stopped_server_is_refused_up_front_and_scheduled_runs_record_why(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await sign_up(client, "owner@example.com")
    server = await hosted(client, owner)
    found = await suite(client, owner)
    await case(client, owner, found["id"], server["id"], arguments={"text": "hi"}, expected="hi")
    await client.post(f"/api/servers/{server['id']}/stop", headers=owner.headers)
    await status_of(client, owner, server["id"], "stopped")

    refused = await client.post(f"/api/evaluations/suites/{found['id']}/runs", headers=owner.headers)

    error = assert_error(refused, 409, "server_not_running")
    assert f"'{server['slug']}' (stopped)" in str(error["message"])

    await make_due(app, found["id"])
    async with app.state.platform.db.session_scope() as session:
        started = await start_due(session)
    assert len(started) == 1

    done = await finished(client, owner, str(started[0]))
    assert done["status"] == "failed" and done["trigger"] == "schedule"
    assert done["results"][0]["error"] == f"Server '{server['slug']}' is not running (stopped); start it."
    assert "is not running" in done["error"]


async def test_the_scoreboard_ranks_servers_by_average_score(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await sign_up(client, "owner@example.com")
    good, poor = await hosted(client, owner, "good"), await hosted(client, owner, "poor")
    found = await suite(client, owner)
    for text in ("alpha", "beta"):
        await case(client, owner, found["id"], good["id"], arguments={"text": text}, expected=text)
    await case(client, owner, found["id"], poor["id"], arguments={"text": "gamma"}, expected="gamma")
    await case(client, owner, found["id"], poor["id"], arguments={"text": "delta"}, expected="something else")
    await run(client, owner, found["id"])
    outsider = await sign_up(client, "outsider@example.com")

    board = (await client.get("/api/evaluations/scoreboard", headers=owner.headers)).json()["items"]
    theirs = (await client.get("/api/evaluations/scoreboard", headers=outsider.headers)).json()["items"]

    assert [(item["rank"], item["server_slug"]) for item in board] == [(1, good["slug"]), (2, poor["slug"])]
    assert board[0]["average_score"] == 1.0 and board[0]["pass_rate"] == 1.0 and board[0]["cases"] == 2
    assert board[1]["average_score"] == 0.5 and board[1]["passed"] == 1 and board[1]["suite_name"] == "answers"
    assert theirs == []


async def test_another_users_suite_is_not_found(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await sign_up(client, "owner@example.com")
    other = await sign_up(client, "other@example.com")
    server = await hosted(client, owner)
    found = await suite(client, owner)
    added = await case(client, owner, found["id"], server["id"], arguments={"text": "x"}, expected="x")
    done = await run(client, owner, found["id"])
    base = f"/api/evaluations/suites/{found['id']}"

    attempts = [
        await client.get(base, headers=other.headers),
        await client.get(f"{base}/cases", headers=other.headers),
        await client.patch(base, json={"name": "mine"}, headers=other.headers),
        await client.delete(f"{base}/cases/{added['id']}", headers=other.headers),
        await client.post(f"{base}/runs", headers=other.headers),
        await client.get(f"/api/evaluations/runs/{done['id']}", headers=other.headers),
        await client.delete(base, headers=other.headers),
    ]

    for response in attempts:
        assert_error(response, 404, "not_found")
    assert (await client.get("/api/evaluations/suites", headers=other.headers)).json() == []
    theirs = await suite(client, other, "theirs")
    into_owners_server = await client.post(
        f"/api/evaluations/suites/{theirs['id']}/cases",
        json={"server_id": server["id"], "tool": "echo", "expected": "x"},
        headers=other.headers,
    )
    assert_error(into_owners_server, 404, "not_found")


async def test_bad_input_gets_clear_errors(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await sign_up(client, "owner@example.com")
    server = await hosted(client, owner)
    found = await suite(client, owner)
    path = f"/api/evaluations/suites/{found['id']}/cases"

    def body(**changes: object) -> dict[str, object]:
        return {"server_id": server["id"], "tool": "echo", "arguments": {"text": "a"}, "expected": "a"} | changes

    mode = await client.post(path, json=body(match_mode="fuzzy"), headers=owner.headers)
    threshold = await client.post(path, json=body(match_mode="similarity", threshold=1.5), headers=owner.headers)
    misplaced = await client.post(path, json=body(match_mode="exact", threshold=0.5), headers=owner.headers)
    subset = await client.post(path, json=body(match_mode="json_subset", expected="text"), headers=owner.headers)
    tool = await client.post(path, json=body(tool="ecko"), headers=owner.headers)
    server_missing = await client.post(
        path, json=body(server_id="00000000-0000-4000-8000-000000000000"), headers=owner.headers
    )
    huge = await client.post(path, json=body(expected="x" * 70_000), headers=owner.headers)
    empty_run = await client.post(f"/api/evaluations/suites/{found['id']}/runs", headers=owner.headers)
    schedule = await client.post(
        "/api/evaluations/suites", json={"name": "often", "schedule_seconds": 5}, headers=owner.headers
    )
    blank = await client.post("/api/evaluations/suites", json={"name": "  "}, headers=owner.headers)

    assert "exact" in str(assert_error(mode, 422)["details"]) and "similarity" in mode.text
    assert "threshold" in str(assert_error(threshold, 422)["details"])
    assert "threshold applies to match mode similarity only" in misplaced.text and misplaced.status_code == 422
    assert "json_subset needs expected to be a JSON object or array" in subset.text and subset.status_code == 422
    unknown = assert_error(tool, 422, "unknown_tool")
    assert "'ecko'" in str(unknown["message"]) and "crash, echo" in str(unknown["message"])
    assert unknown["details"] == {"tool": "ecko", "tools": ["crash", "echo"]}
    assert "No server with id" in str(assert_error(server_missing, 404, "not_found")["message"])
    assert "at most 65536" in str(assert_error(huge, 413)["message"])
    assert_error(empty_run, 409, "no_cases")
    assert "at least 300" in str(assert_error(schedule, 422)["message"])
    assert_error(blank, 422)
    assert (await client.get(path, headers=owner.headers)).json() == []


async def test_one_run_at_a_time_and_a_rate_limit(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await sign_up(client, "owner@example.com")
    server = await hosted(client, owner)
    found = await suite(client, owner)
    await case(client, owner, found["id"], server["id"], arguments={"text": "x"}, expected="x")
    path = f"/api/evaluations/suites/{found['id']}/runs"

    answers = [await client.post(path, headers=owner.headers) for _ in range(7)]

    assert answers[0].status_code == 202
    statuses = [answer.status_code for answer in answers[1:]]
    assert set(statuses) <= {202, 409, 429} and 429 in statuses, statuses
    limited = next(answer for answer in answers if answer.status_code == 429)
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) >= 1
    busy = [answer for answer in answers if answer.status_code == 409]
    for answer in busy:
        assert_error(answer, 409, "run_in_progress")


async def test_an_organisations_suite_is_run_by_members_and_read_by_viewers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    people = await team(client)
    server = await org_server(client, people)
    created = await client.post(
        "/api/evaluations/suites",
        json={"name": "team suite", "org_id": people["org"]},
        headers=people["member"].headers,
    )
    assert created.status_code == 201, created.text
    found = created.json()
    await case(client, people["member"], found["id"], server["id"], arguments={"text": "t"}, expected="t")
    base = f"/api/evaluations/suites/{found['id']}"

    seen = await client.get(base, headers=people["viewer"].headers)
    viewer_run = await client.post(f"{base}/runs", headers=people["viewer"].headers)
    viewer_case = await client.post(
        f"{base}/cases",
        json={"server_id": server["id"], "tool": "echo", "expected": "v"},
        headers=people["viewer"].headers,
    )
    done = await run(client, people["admin"], found["id"])

    assert seen.status_code == 200 and seen.json()["org_id"] == people["org"]
    assert_error(viewer_run, 403, "insufficient_role")
    assert_error(viewer_case, 403, "insufficient_role")
    assert done["status"] == "passed" and done["run_as"] == str(people["admin"].id)
