"""Defining workflows: every mistake a definition can hold is a 422 that names it (a server the owner cannot use, a
tool the server does not have, a template referring to a missing or later step, a cycle, duplicate ids); a good
definition is stored with the dependencies its references imply; another user's workflows are not found."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.support.accounts import Account, assert_error, sign_up
from tests.workflows.conftest import running
from tests.workflows.helpers import created, define, start, step


async def test_a_definition_is_stored_with_the_dependencies_its_templates_imply(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    alpha = await running(client, owner, "alpha")
    beta = await running(client, owner, "beta")
    workflow = await created(
        client,
        owner,
        name="Greeting",
        input_schema={"type": "object", "properties": {"who": {"type": "string"}}, "required": ["who"]},
        steps=[
            step("left", alpha["slug"], arguments={"text": "{{ input.who }}"}),
            step("right", beta["id"], arguments={"text": "hello"}, timeout_seconds=5, retry={"attempts": 2}),
            step("join", alpha["slug"], arguments={"text": "{{ steps.right.output }} {{ steps.left.output }}"}),
        ],
    )
    assert workflow["slug"] == "greeting" and workflow["published"] is False and workflow["version"] == 1
    assert workflow["endpoint"].endswith("/mcp/workflows/greeting")
    by_id = {item["id"]: item for item in workflow["steps"]}
    assert by_id["left"]["server_id"] == alpha["id"] and by_id["right"]["server_slug"] == "beta"
    assert sorted(by_id["join"]["needs"]) == ["left", "right"] and by_id["left"]["needs"] == []
    assert by_id["right"]["timeout_seconds"] == 5 and by_id["right"]["retry"]["attempts"] == 2
    assert by_id["left"]["timeout_seconds"] == 60  # the platform's default

    listed = (await client.get("/api/workflows", headers=owner.headers)).json()
    assert [item["id"] for item in listed["items"]] == [workflow["id"]]
    renamed = await client.patch(
        f"/api/workflows/{workflow['id']}", json={"name": "Hello", "published": True}, headers=owner.headers
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Hello" and renamed.json()["published"] and renamed.json()["version"] == 1
    changed = await client.patch(
        f"/api/workflows/{workflow['id']}",
        json={"steps": [step("only", alpha["slug"], arguments={"text": "{{ steps.gone.output }}"})]},
        headers=owner.headers,
    )
    assert_error(changed, 422, "unknown_step")
    still = (await client.get(f"/api/workflows/{workflow['id']}", headers=owner.headers)).json()
    assert len(still["steps"]) == 3 and still["version"] == 1  # nothing half-written
    again = await client.patch(
        f"/api/workflows/{workflow['id']}", json={"steps": [step("only", alpha["slug"])]}, headers=owner.headers
    )
    assert again.status_code == 200 and again.json()["version"] == 2
    taken = await define(client, owner, name="x", slug="greeting", steps=[step("a", alpha["slug"])])
    assert_error(taken, 409, "slug_taken")
    deleted = await client.delete(f"/api/workflows/{workflow['id']}", headers=owner.headers)
    assert deleted.status_code == 204
    assert_error(await client.get(f"/api/workflows/{workflow['id']}", headers=owner.headers), 404)


async def test_every_definition_mistake_is_a_422_that_names_it(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    alpha = await running(client, owner, "alpha")
    slug = alpha["slug"]
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    cases = [
        ([step("a", "no-such-server")], {}, "unknown_server", "no server 'no-such-server'"),
        ([step("a", slug, tool="teleport")], {}, "unknown_tool", "has no tool 'teleport' (its tools: crash, echo)"),
        (
            [step("a", slug, arguments={"text": "{{ steps.ghost.output }}"})],
            {},
            "unknown_step",
            "steps.ghost.output refers to a step 'ghost', and there is none",
        ),
        (
            [step("a", slug, arguments={"text": "{{ steps.a.output }}"})],
            {},
            "not_upstream",
            "refers to the step's own output",
        ),
        (
            [step("a", slug, arguments={"text": "{{ steps.b.output }}"}), step("b", slug, needs=["a"])],
            {},
            "not_upstream",
            "Step 'a' refers to steps.b.output, but 'b' is not upstream of it",
        ),
        (
            [step("a", slug, needs=["c"]), step("b", slug, needs=["a"]), step("c", slug, needs=["b"])],
            {},
            "cycle",
            "The steps form a cycle: a → b → c → a",
        ),
        ([step("a", slug), step("a", slug)], {}, "duplicate_step", "used more than once: a"),
        ([step("a", slug, needs=["nope"])], {}, "unknown_step", "Step 'a' needs 'nope'"),
        (
            [step("a", slug, arguments={"text": "{{ input.town }}"})],
            {"input_schema": schema},
            "unknown_input",
            "input.town is not a field of the input",
        ),
        (
            [step("a", slug, arguments={"text": "{% for x in input %}{{ x }}{% endfor %}"})],
            {},
            "invalid_template",
            "only {{ expressions }} are allowed",
        ),
        ([step("a", slug, arguments={"text": "{{ config }}"})], {}, "invalid_template", "uses 'config'"),
        ([step("a", slug, arguments={"text": "{{ input.x"})], {}, "invalid_template", "is not a valid template"),
        ([step("a", slug, timeout_seconds=99999)], {}, "invalid_timeout", "timeout_seconds is at most 3600"),
    ]
    for steps, extra, code, words in cases:
        response = await define(client, owner, steps=steps, **extra)
        error = assert_error(response, 422, code)
        assert words in str(error["message"]), (code, error["message"])
    assert (await client.get("/api/workflows", headers=owner.headers)).json()["items"] == []
    huge = await define(client, owner, steps=[step("a", slug, arguments={"text": "x" * 70_000})])
    assert_error(huge, 422, "too_large")
    bad_id = await define(client, owner, steps=[step("not ok", slug)])
    assert_error(bad_id, 422, "validation_error")


async def test_another_users_workflows_servers_and_runs_are_not_found(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    alpha = await running(client, owner, "alpha")
    workflow = await created(client, owner, steps=[step("a", alpha["slug"], arguments={"text": "mine"})])
    run = await start(client, owner, workflow)
    other = await sign_up(client, "other@example.com")
    base = f"/api/workflows/{workflow['id']}"
    assert (await client.get("/api/workflows", headers=other.headers)).json()["items"] == []
    for response in (
        await client.get(base, headers=other.headers),
        await client.patch(base, json={"name": "mine now"}, headers=other.headers),
        await client.post(f"{base}/run", json={"input": {}}, headers=other.headers),
        await client.get(f"{base}/runs", headers=other.headers),
        await client.get(f"{base}/runs/{run['id']}", headers=other.headers),
        await client.post(f"{base}/runs/{run['id']}/cancel", headers=other.headers),
        await client.delete(base, headers=other.headers),
    ):
        assert_error(response, 404)
    borrowed = await define(client, other, steps=[step("a", alpha["slug"])])
    error = assert_error(borrowed, 422, "unknown_server")
    assert alpha["slug"] in str(error["message"])
    assert (await client.get(base, headers=owner.headers)).json()["name"] == "flow"
