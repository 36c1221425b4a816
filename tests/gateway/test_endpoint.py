"""The MCP endpoint over the fake runtime: sessions, relaying, and every way a request is refused."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.gateway.mcp_http import McpHttp, hosted_with_key
from tests.servers.hosting import QUICK, deploy, status_of
from tests.support.accounts import Account, create_token, sign_up
from tests.support.apps import app_client
from tests.support.waiting import eventually


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(
        tmp_path / "home", database_url, **QUICK, gateway={"rate_limit_per_second": 50, "rate_limit_burst": 20}
    )


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "owner@example.com")


async def test_a_session_lists_and_calls_tools(client: httpx.AsyncClient, owner: Account) -> None:
    server, key = await hosted_with_key(client, owner)
    mcp = McpHttp(client, server["slug"], key)

    init = await mcp.initialize()
    tools = await mcp.request("tools/list")
    answer = await mcp.call("echo", text="hello")

    assert init["serverInfo"]["name"] == "fake"
    assert init["protocolVersion"] == "2025-11-25"
    assert [tool["name"] for tool in tools["result"]["tools"]] == ["echo", "crash"]
    assert answer["id"] == 2
    assert answer["result"]["content"] == [{"type": "text", "text": "hello"}]


async def test_unknown_and_ended_sessions_get_404(client: httpx.AsyncClient, owner: Account) -> None:
    server, key = await hosted_with_key(client, owner)
    mcp = McpHttp(client, server["slug"], key)
    await mcp.initialize()

    ended = await client.delete(mcp.path, headers=mcp._headers())
    after = await mcp.post({"jsonrpc": "2.0", "id": 5, "method": "tools/list"})
    mcp.session_id = "made-up"
    unknown = await mcp.post({"jsonrpc": "2.0", "id": 6, "method": "tools/list"})

    assert ended.status_code == 204
    assert after.status_code == 404
    assert unknown.status_code == 404


async def test_requests_without_a_session_are_refused(client: httpx.AsyncClient, owner: Account) -> None:
    server, key = await hosted_with_key(client, owner)
    response = await McpHttp(client, server["slug"], key).post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert response.status_code == 400
    assert "Mcp-Session-Id" in response.json()["error"]["message"]


async def test_credentials_are_checked(client: httpx.AsyncClient, owner: Account) -> None:
    server, _ = await hosted_with_key(client, owner)
    _, other_key = await hosted_with_key(client, owner, name="other")
    body = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}}
    path = f"/mcp/{server['slug']}"

    missing = await client.post(path, json=body)
    wrong = await client.post(path, json=body, headers={"authorization": "Bearer mcph_sk_not-a-key"})
    foreign = await client.post(path, json=body, headers={"authorization": f"Bearer {other_key}"})
    metadata = await client.get(f"/.well-known/oauth-protected-resource/mcp/{server['slug']}")

    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == (
        f'Bearer resource_metadata="http://127.0.0.1:8700/.well-known/oauth-protected-resource/mcp/{server["slug"]}", '
        'scope="invoke"'
    )
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert foreign.status_code == 404  # a key reaches its own server only; other names are not found
    assert metadata.json()["resource"] == f"http://127.0.0.1:8700/mcp/{server['slug']}"
    assert metadata.json()["authorization_servers"] == ["http://127.0.0.1:8700"]


async def test_personal_tokens_need_the_invoke_scope_and_a_visible_server(
    client: httpx.AsyncClient, owner: Account
) -> None:
    server, _ = await hosted_with_key(client, owner)
    invoke = await create_token(client, owner, "invoke")
    read_only = await create_token(client, owner, "read")
    stranger = await sign_up(client, "stranger@example.com")
    strangers_token = await create_token(client, stranger, "invoke")

    init = await McpHttp(client, server["slug"], invoke).initialize()
    refused = await McpHttp(client, server["slug"], read_only).post({"jsonrpc": "2.0", "id": 0, "method": "initialize"})
    hidden = await McpHttp(client, server["slug"], strangers_token).post(
        {"jsonrpc": "2.0", "id": 0, "method": "initialize"}
    )

    assert init["serverInfo"]["name"] == "fake"
    assert refused.status_code == 403
    assert hidden.status_code == 404


async def test_a_revoked_key_stops_working_at_once(client: httpx.AsyncClient, owner: Account) -> None:
    server, key = await hosted_with_key(client, owner)
    mcp = McpHttp(client, server["slug"], key)
    await mcp.initialize()
    keys = (await client.get(f"/api/servers/{server['id']}/keys", headers=owner.headers)).json()

    await client.delete(f"/api/servers/{server['id']}/keys/{keys[0]['id']}", headers=owner.headers)
    response = await mcp.post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})

    assert response.status_code == 401


async def test_foreign_origins_and_hosts_are_refused(client: httpx.AsyncClient, owner: Account) -> None:
    server, key = await hosted_with_key(client, owner)
    mcp = McpHttp(client, server["slug"], key)
    message = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}}

    evil_origin = await mcp.post(message, origin="https://evil.example.com")
    evil_host = await mcp.post(message, host="evil.example.com")
    own_origin = await mcp.post(message, origin="http://127.0.0.1:8700")

    assert evil_origin.status_code == 403
    assert evil_host.status_code == 403
    assert own_origin.status_code == 200
    assert own_origin.headers["access-control-allow-origin"] == "http://127.0.0.1:8700"


async def test_oversized_messages_get_413(client: httpx.AsyncClient, owner: Account, settings: Settings) -> None:
    server, key = await hosted_with_key(client, owner)
    mcp = McpHttp(client, server["slug"], key)
    await mcp.initialize()
    text = "x" * settings.gateway.max_message_bytes

    response = await mcp.post(
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": text}}}
    )

    assert response.status_code == 413


async def test_a_flood_is_rate_limited(client: httpx.AsyncClient, owner: Account) -> None:
    server, key = await hosted_with_key(client, owner)
    mcp = McpHttp(client, server["slug"], key)
    await mcp.initialize()

    statuses = [(await mcp.post({"jsonrpc": "2.0", "id": n, "method": "ping"})) for n in range(40)]

    limited = [response for response in statuses if response.status_code == 429]
    assert limited, "no request was limited"
    assert int(limited[0].headers["retry-after"]) >= 1
    assert all(response.status_code in (200, 429) for response in statuses)


async def test_an_upstream_crash_answers_the_waiting_call_at_once(client: httpx.AsyncClient, owner: Account) -> None:
    server, key = await hosted_with_key(client, owner)
    mcp = McpHttp(client, server["slug"], key)
    await mcp.initialize()

    answer = await mcp.call("crash")

    assert answer["error"]["code"] == -32603
    assert "exited" in answer["error"]["message"]

    async def restarted() -> bool:
        found = (await client.get(f"/api/servers/{server['id']}", headers=owner.headers)).json()
        return bool(found["status"] == "running" and found["restart_count"] >= 1)

    await eventually(restarted, bool, what="the restart")
    assert (await mcp.call("echo", text="back"))["result"]["content"][0]["text"] == "back"


async def test_a_stopped_server_answers_503(client: httpx.AsyncClient, owner: Account) -> None:
    server = await deploy(client, owner)
    await status_of(client, owner, server["id"], "running")
    key = (await client.post(f"/api/servers/{server['id']}/keys", json={}, headers=owner.headers)).json()["key"]
    await client.post(f"/api/servers/{server['id']}/stop", headers=owner.headers)
    await status_of(client, owner, server["id"], "stopped")

    response = await McpHttp(client, server["slug"], key).post({"jsonrpc": "2.0", "id": 0, "method": "initialize"})

    assert response.status_code == 503
    assert "not running" in response.json()["error"]["message"]


async def test_every_relayed_request_is_traced(app: FastAPI, client: httpx.AsyncClient, owner: Account) -> None:
    server, key = await hosted_with_key(client, owner)
    mcp = McpHttp(client, server["slug"], key)
    await mcp.initialize()
    await mcp.call("echo", text="traced", password="hunter2")
    await mcp.request("nope/unknown")

    await app.state.platform.traces.flush()
    records = (await client.get(f"/api/servers/{server['id']}/invocations", headers=owner.headers)).json()["items"]

    assert [(r["method"], r["status"]) for r in records] == [("nope/unknown", "error"), ("tools/call", "ok")]
    listed = records[1]
    call = (await client.get(f"/api/servers/{server['id']}/invocations/{listed['id']}", headers=owner.headers)).json()
    assert call["name"] == "echo" and call["session_id"] == mcp.session_id and call["key_id"] is not None
    assert call["params"]["arguments"] == {"text": "traced", "password": "[redacted]"}
    assert call["result"]["content"][0]["text"] == "traced"
    assert records[0]["error_code"] == -32601


async def test_the_console_playground_invokes_through_the_same_path(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    server, _ = await hosted_with_key(client, owner)
    path = f"/api/servers/{server['id']}/invoke"

    called = await client.post(
        path,
        json={"method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"}}},
        headers=owner.headers,
    )
    listed = await client.post(path, json={"method": "tools/list"}, headers=owner.headers)
    refused = await client.post(path, json={"method": "initialize"}, headers=owner.headers)
    await app.state.platform.traces.flush()
    traced = (await client.get(f"/api/servers/{server['id']}/invocations?tool=echo", headers=owner.headers)).json()

    assert called.status_code == 200, called.text
    assert called.json()["result"]["content"] == [{"type": "text", "text": "hi"}]
    assert [tool["name"] for tool in listed.json()["result"]["tools"]] == ["echo", "crash"]
    assert refused.status_code == 422
    assert traced["items"][0]["user_id"] == str(owner.id)
    assert traced["items"][0]["request_bytes"] > 0 and traced["items"][0]["response_bytes"] > 0


async def test_an_upstream_that_does_not_answer_in_time_gives_a_json_rpc_error(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path / "slow", database_url, **QUICK, gateway={"request_timeout_seconds": 0.3})
    async with app_client(settings) as client:
        owner = await sign_up(client, "owner@example.com")
        server, key = await hosted_with_key(client, owner)
        mcp = McpHttp(client, server["slug"], key)
        await mcp.initialize()

        answer = await mcp.call("hang")
        after = await mcp.call("echo", text="still here")

    assert answer["error"]["code"] == -32001
    assert "did not answer tools/call within 0.3 s" in answer["error"]["message"]
    assert after["result"]["content"][0]["text"] == "still here"
