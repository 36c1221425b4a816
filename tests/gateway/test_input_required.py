"""Multi-round-trip requests (2026-07-28) in front of a server of the session era: the server's elicitation,
sampling and roots requests reach a stateless client as ``input_required`` results, its answers go back, and the
request state it carries in between is sealed, bound to the credential and the request, single-use and expiring.

The server is the conformance fixture (a real MCP SDK server, stdio), hosted behind the gateway."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from mcphost.api import create_app
from mcphost.gateway.input_required import PendingRequest, PendingRequests
from mcphost.gateway.request_state import InvalidRequestState, RequestStateSealer, StateClaims
from mcphost.mcp.jsonrpc import JsonRpcError
from mcphost.settings import Settings
from tests.gateway.stateless_client import call, fixture_settings, host_fixture
from tests.support.accounts import Account, sign_up
from tests.support.waiting import eventually

ELICITATION_TOOL = {"name": "test_input_required_result_elicitation", "arguments": {}}
ALICE = {"action": "accept", "content": {"name": "Alice"}}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return fixture_settings(tmp_path / "home", database_url)


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "owner@example.com")


def result_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "result" in body, body
    return dict(body["result"])


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert "error" in body, body
    return dict(body["error"])


async def tool(
    client: httpx.AsyncClient,
    slug: str,
    key: str,
    tool_call: dict[str, Any],
    answers: Any = ...,
    state: Any = None,
    **options: Any,
) -> httpx.Response:
    """A stateless tools/call with ``inputResponses`` (unless ``...``) and ``requestState`` (unless None)."""
    params = dict(tool_call)
    if answers is not ...:
        params["inputResponses"] = answers
    if state is not None:
        params["requestState"] = state
    return await call(client, slug, key, "tools/call", params, **options)


def text_of(result: dict[str, Any]) -> str:
    return " ".join(part["text"] for part in result["content"] if part["type"] == "text")


async def test_the_servers_question_reaches_the_client_and_its_answer_goes_back(
    client: httpx.AsyncClient, owner: Account
) -> None:
    slug, (key,) = await host_fixture(client, owner)

    first = result_of(await tool(client, slug, key, ELICITATION_TOOL))
    retried = await tool(client, slug, key, ELICITATION_TOOL, {"user_name": ALICE}, first["requestState"], request_id=2)

    assert first["resultType"] == "input_required"
    asked = first["inputRequests"]["user_name"]
    assert asked["method"] == "elicitation/create"
    assert asked["params"]["message"] == "What is your name?"
    assert "_meta" not in asked["params"]  # the server's key hint is the gateway's business, not the client's
    assert result_of(retried)["resultType"] == "complete"
    assert text_of(result_of(retried)) == "Hello, Alice!"
    assert retried.json()["id"] == 2


async def test_questions_asked_together_come_in_one_round_and_later_ones_in_the_next(
    client: httpx.AsyncClient, owner: Account
) -> None:
    slug, (key,) = await host_fixture(client, owner)
    multiple = {"name": "test_input_required_result_multiple_inputs", "arguments": {}}
    rounds = {"name": "test_input_required_result_multi_round", "arguments": {}}
    answers = {
        "user_name": ALICE,
        "greeting": {"role": "assistant", "content": {"type": "text", "text": "Hi!"}, "model": "m"},
        "client_roots": {"roots": [{"uri": "file:///work", "name": "work"}]},
    }
    blue = {"action": "accept", "content": {"color": "blue"}}

    together = result_of(await tool(client, slug, key, multiple))
    done = result_of(await tool(client, slug, key, multiple, answers, together["requestState"]))
    step1 = result_of(await tool(client, slug, key, rounds))
    step2 = result_of(await tool(client, slug, key, rounds, {"step1": ALICE}, step1["requestState"]))
    last = result_of(await tool(client, slug, key, rounds, {"step2": blue}, step2["requestState"]))

    assert {key: asked["method"] for key, asked in together["inputRequests"].items()} == {
        "user_name": "elicitation/create",
        "greeting": "sampling/createMessage",
        "client_roots": "roots/list",
    }
    assert text_of(done) == "name accept: Alice; greeting: Hi!; roots: file:///work"
    assert list(step1["inputRequests"]) == ["step1"]
    assert list(step2["inputRequests"]) == ["step2"]
    assert step2["requestState"] != step1["requestState"]
    assert text_of(last) == "name accept: Alice; favorite color accept: blue"


async def test_an_altered_foreign_or_used_request_state_is_refused(client: httpx.AsyncClient, owner: Account) -> None:
    slug, (key, other_key) = await host_fixture(client, owner, keys=2)
    state = result_of(await tool(client, slug, key, ELICITATION_TOOL))["requestState"]
    answer = {"user_name": ALICE}
    flipped = state[:-3] + ("A" if state[-3] != "A" else "B") + state[-2:]
    other_arguments = {"name": ELICITATION_TOOL["name"], "arguments": {"x": 1}}

    tampered = await tool(client, slug, key, ELICITATION_TOOL, answer, state + "-TAMPERED")
    altered = await tool(client, slug, key, ELICITATION_TOOL, answer, flipped)
    foreign = await tool(client, slug, other_key, ELICITATION_TOOL, answer, state)
    elsewhere = await tool(client, slug, key, other_arguments, answer, state)
    genuine = await tool(client, slug, key, ELICITATION_TOOL, answer, state)
    replayed = await tool(client, slug, key, ELICITATION_TOOL, answer, state)

    for refused, says in [
        (tampered, "altered"),
        (altered, "altered"),
        (foreign, "another credential"),
        (elsewhere, "another request"),
        (replayed, "no longer held"),
    ]:
        error = error_of(refused)
        assert error["code"] == -32602, error
        assert says in error["message"], error
        assert error["data"] == {"reason": "invalid_request_state"}
    # none of the refusals used up the paused request: the genuine retry still completes it
    assert text_of(result_of(genuine)) == "Hello, Alice!"


async def test_answers_are_checked_and_answers_sent_up_front_are_used(
    client: httpx.AsyncClient, owner: Account
) -> None:
    slug, (key,) = await host_fixture(client, owner)

    up_front = await tool(client, slug, key, ELICITATION_TOOL, {"user_name": ALICE})
    wrong_key = await tool(client, slug, key, ELICITATION_TOOL, {"other": ALICE})
    not_an_object = await tool(client, slug, key, ELICITATION_TOOL, {"user_name": 5})
    null = await tool(client, slug, key, ELICITATION_TOOL, None)
    state = result_of(wrong_key)["requestState"]
    bad_answer = await tool(client, slug, key, ELICITATION_TOOL, {"user_name": {"action": "maybe"}}, state)
    missing = await tool(client, slug, key, ELICITATION_TOOL, {}, state)

    assert text_of(result_of(up_front)) == "Hello, Alice!"
    assert list(result_of(wrong_key)["inputRequests"]) == ["user_name"]  # asked again, the unknown key ignored
    assert "must be an object" in error_of(not_an_object)["message"]
    assert "inputResponses must be an object" in error_of(null)["message"]
    assert '"action"' in error_of(bad_answer)["message"]  # refused, and the state stays good for a corrected retry
    again = result_of(missing)
    assert list(again["inputRequests"]) == ["user_name"]  # nothing answered: asked again with a new state
    assert again["requestState"] != state


async def test_a_client_without_the_capability_gets_missing_capability(
    client: httpx.AsyncClient, owner: Account
) -> None:
    slug, (key,) = await host_fixture(client, owner)
    needs_sampling = {"name": "test_missing_capability", "arguments": {}}
    elicits_or_samples = {"name": "test_input_required_result_capabilities", "arguments": {}}

    refused = await tool(client, slug, key, needs_sampling, capabilities={})
    fell_back = await tool(client, slug, key, elicits_or_samples, capabilities={"sampling": {}})

    assert refused.status_code == 400
    error = error_of(refused)
    assert error["code"] == -32021
    assert error["data"] == {"requiredCapabilities": {"sampling": {}}}
    # the server asked for elicitation first, was refused, and asked its fallback question instead
    assert [asked["method"] for asked in result_of(fell_back)["inputRequests"].values()] == ["sampling/createMessage"]


@pytest.fixture
def quick_expiry(tmp_path: Path, database_url: str) -> Settings:
    return fixture_settings(tmp_path / "home", database_url, request_timeout_seconds=3)


async def test_a_client_that_never_comes_back_releases_the_server(quick_expiry: Settings) -> None:
    app: FastAPI = create_app(quick_expiry)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            owner = await sign_up(http, "owner@example.com")
            slug, (key,) = await host_fixture(http, owner)
            paused = app.state.gateway.stateless_era.pending

            first = result_of(await call(http, slug, key, "tools/call", ELICITATION_TOOL))
            assert len(paused) == 1

            async def expired() -> int:
                return int(paused.expired)

            await eventually(expired, lambda count: count == 1, timeout=30, what="the paused request's expiry")
            late = await call(
                http,
                slug,
                key,
                "tools/call",
                ELICITATION_TOOL | {"inputResponses": {"user_name": ALICE}, "requestState": first["requestState"]},
            )
            fresh = await call(
                http, slug, key, "tools/call", ELICITATION_TOOL | {"inputResponses": {"user_name": ALICE}}
            )

    assert len(paused) == 0
    error = error_of(late)
    assert error["code"] == -32602
    assert "expired" in error["message"] or "no longer held" in error["message"]
    assert text_of(result_of(fresh)) == "Hello, Alice!"  # the server is free for new work


# -- the parts on their own ----------------------------------------------------------------------------------------


def claims() -> StateClaims:
    return StateClaims("p1", 1, "key:1", "server-1", "tools/call", "echo", "digest", expires_at=2_000_000_000.0)


def test_a_sealed_state_opens_only_unaltered_with_its_key_and_before_it_expires() -> None:
    sealer = RequestStateSealer(b"k" * 32)
    token = sealer.seal(claims())

    assert sealer.open(token, now=1_000.0) == claims()
    for altered in (token + "x", token[:-1], "mcph1." + token[7:], token.replace("mcph1.", "mcph2."), 7, ""):
        with pytest.raises(InvalidRequestState):
            sealer.open(altered, now=1_000.0)
    with pytest.raises(InvalidRequestState, match="altered"):
        RequestStateSealer(b"o" * 32).open(token, now=1_000.0)
    with pytest.raises(InvalidRequestState, match="expired"):
        sealer.open(token, now=2_000_000_001.0)


async def test_expiry_answers_the_servers_question_with_an_error_and_cancels_its_call() -> None:
    store = PendingRequests(RequestStateSealer(b"k" * 32), wait_seconds=0.05)
    pending = new_pending(store)
    told: list[JsonRpcError] = []

    async def upstream_call() -> dict[str, Any]:
        await asyncio.sleep(3600)  # the relayed call, waiting for the server's answer
        return {}

    async def server_request() -> None:  # the connection serving the server's elicitation/create meanwhile
        try:
            await pending.ask("elicitation/create", {"message": "name?"})
        except JsonRpcError as exc:
            told.append(exc)  # what the connection answers the server with

    pending.start(upstream_call())
    asking = asyncio.ensure_future(server_request())
    assert await pending.next_outcome(timeout=30) is None
    store.park(pending)
    with pytest.raises(asyncio.CancelledError):
        await pending.task  # type: ignore[misc]
    await asking

    assert store.expired == 1 and len(store) == 0
    assert told and "did not answer elicitation/create" in told[0].message


async def test_paused_requests_are_bounded_per_credential() -> None:
    store = PendingRequests(RequestStateSealer(b"k" * 32), wait_seconds=60, max_per_principal=1)
    first, second = new_pending(store), new_pending(store)
    asked = asyncio.ensure_future(first.ask("elicitation/create", {"message": "name?"}))
    await asyncio.sleep(0)
    store.park(first)

    with pytest.raises(JsonRpcError, match="too many requests"):
        await second.ask("elicitation/create", {"message": "name?"})
    store.close()
    with pytest.raises(JsonRpcError, match="shutting down"):
        await asyncio.wait_for(asked, 5)


def new_pending(store: PendingRequests) -> PendingRequest:
    return store.create(
        principal="key:1",
        server_id="server-1",
        method="tools/call",
        params={"name": "echo", "arguments": {}},
        capabilities={"elicitation": {}},
        answers={},
    )
