"""Malformed input at a live gateway (uvicorn, the process runtime, a real stdio MCP server): a batch of
non-objects, JSON nested hundreds of levels deep, in both protocol eras and on ``/invoke``. Each is a JSON-RPC error
(-32600 invalid request, -32700 parse error) that says what is wrong, never a 500."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mcphost.gateway.session_era import SessionEra
from mcphost.mcp.jsonrpc import MAX_DEPTH
from tests.gateway.live import FIXTURES, LiveHost, live_host, live_settings
from tests.gateway.mcp_http import ACCEPT

ECHO_SERVER = [sys.executable, str(FIXTURES / "echo_server.py")]
STATELESS = "2026-07-28"
STATELESS_META = {
    "io.modelcontextprotocol/protocolVersion": STATELESS,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
}


@pytest.fixture
async def host(tmp_path: Path, database_url: str) -> AsyncIterator[LiveHost]:
    async with live_host(live_settings(tmp_path / "home", database_url)) as running:
        yield running


def echo_call(request_id: int, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": arguments},
    }


def deep_call(request_id: int, depth: int, *, meta: dict[str, Any] | None = None) -> str:
    """The JSON text of an echo call nested ``depth`` levels deep in all (written by hand: orjson refuses to write
    more than 254 levels), its ``extra`` argument being [[[...{}...]]]."""
    extra = "[" * (depth - 4) + "{}" + "]" * (depth - 4)
    meta_text = f',"_meta":{orjson.dumps(meta).decode()}' if meta else ""
    return (
        f'{{"jsonrpc":"2.0","id":{request_id},"method":"tools/call",'
        f'"params":{{"name":"echo","arguments":{{"text":"x","extra":{extra}}}{meta_text}}}}}'
    )


class Session:
    """A 2025-03-26 session (the revision with JSON-RPC batches) opened at the live gateway."""

    def __init__(self, host: LiveHost, slug: str, key: str) -> None:
        self.host = host
        self.path = f"/mcp/{slug}"
        self.headers = {"authorization": f"Bearer {key}", "accept": ACCEPT, "content-type": "application/json"}

    async def open(self) -> None:
        params = {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
        answer = await self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params})
        assert answer.status_code == 200, answer.text
        self.headers |= {"mcp-session-id": answer.headers["mcp-session-id"], "mcp-protocol-version": "2025-03-26"}

    async def post(self, document: Any) -> httpx.Response:
        body = document if isinstance(document, str) else orjson.dumps(document)
        return await self.host.client.post(self.path, content=body, headers=self.headers)


async def test_a_batch_of_non_objects_answers_an_error_for_each(host: LiveHost) -> None:
    server, key = await host.host(ECHO_SERVER)
    session = Session(host, server["slug"], key)
    await session.open()

    one = await session.post([1])
    mixed = await session.post([1, "x", [], echo_call(5, {"text": "still served"})])
    nested_batch = await session.post([[echo_call(6, {"text": "hidden"})]])

    assert one.status_code == 200, one.text
    assert [(a["id"], a["error"]["code"]) for a in one.json()] == [(None, -32600)]
    answers = mixed.json()
    assert [a.get("error", {}).get("code") for a in answers] == [-32600, -32600, -32600, None]
    assert answers[3]["result"]["content"][0]["text"] == "still served"
    assert "object" in answers[0]["error"]["message"]
    assert [a["error"]["code"] for a in nested_batch.json()] == [-32600]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 260, 1000])
async def test_deeply_nested_json_is_refused_in_the_session_era(host: LiveHost, depth: int) -> None:
    server, key = await host.host(ECHO_SERVER)
    session = Session(host, server["slug"], key)
    await session.open()

    deep = await session.post(deep_call(1, depth))
    batch = await session.post(f"[{deep_call(2, depth - 1)}]")
    fine = await session.post(deep_call(3, MAX_DEPTH))

    assert deep.status_code == 400, deep.text
    assert deep.json()["error"]["code"] == -32700
    assert f"more than {MAX_DEPTH} levels" in deep.json()["error"]["message"]
    assert batch.status_code == 400 and batch.json()["error"]["code"] == -32700
    assert fine.status_code == 200 and fine.json()["result"]["content"][0]["text"] == "x"


async def test_deeply_nested_json_is_refused_in_the_stateless_era(host: LiveHost) -> None:
    server, key = await host.host(ECHO_SERVER)
    headers = {
        "authorization": f"Bearer {key}",
        "content-type": "application/json",
        "accept": ACCEPT,
        "mcp-protocol-version": STATELESS,
        "mcp-method": "tools/call",
        "mcp-name": "echo",
    }
    deep = await host.client.post(
        f"/mcp/{server['slug']}", content=deep_call(1, 260, meta=STATELESS_META), headers=headers
    )

    assert deep.status_code == 400, deep.text
    assert deep.json()["error"]["code"] == -32700
    assert f"more than {MAX_DEPTH} levels" in deep.json()["error"]["message"]


async def test_deeply_nested_params_are_refused_by_invoke(host: LiveHost) -> None:
    server, _ = await host.host(ECHO_SERVER)
    path = f"/api/servers/{server['id']}/invoke"
    params = deep_call(1, 260).partition('"params":')[2][:-1]
    body = f'{{"method":"tools/call","params":{params}}}'

    deep = await host.client.post(
        path, content=body, headers={"content-type": "application/json", **host.admin.headers}
    )
    fine = await host.client.post(
        path,
        json={"method": "tools/call", "params": {"name": "echo", "arguments": {"text": "ok"}}},
        headers=host.admin.headers,
    )

    assert deep.status_code == 422, deep.text
    assert f"more than {MAX_DEPTH} levels" in deep.json()["error"]["message"]
    assert fine.status_code == 200 and fine.json()["result"]["content"][0]["text"] == "ok"


async def test_a_failure_inside_the_gateway_names_the_request_it_was_logged_under(
    host: LiveHost, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug cannot be caused on demand, so this test plants one (the only stand-in here): the session era fails."""
    server, key = await host.host(ECHO_SERVER)

    async def planted_bug(*_: object, **__: object) -> None:
        raise RuntimeError("planted bug")

    monkeypatch.setattr(SessionEra, "post", planted_bug)
    message = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}}
    headers = {"authorization": f"Bearer {key}", "accept": ACCEPT, "content-type": "application/json"}

    generated = await host.client.post(f"/mcp/{server['slug']}", content=orjson.dumps(message), headers=headers)
    chosen = await host.client.post(
        f"/mcp/{server['slug']}", content=orjson.dumps(message), headers=headers | {"x-request-id": "trace-42"}
    )

    assert generated.status_code == 500
    rid = generated.headers["x-request-id"]
    assert len(rid) == 32 and "None" not in generated.text
    assert generated.json()["error"]["code"] == -32603
    assert f"(request {rid})" in generated.json()["error"]["message"]
    assert generated.json()["error"]["data"] == {"reason": "internal_error", "request_id": rid}
    assert chosen.json()["error"]["data"]["request_id"] == "trace-42"
    logged = [record for record in caplog.records if record.name == "mcphost.gateway.app"]
    assert any(rid in record.getMessage() and record.exc_info for record in logged)


async def test_an_answer_nested_too_deep_to_relay_becomes_an_error(host: LiveHost) -> None:
    server, key = await host.host([sys.executable, str(Path(__file__).with_name("nesting_server.py"))])
    session = Session(host, server["slug"], key)
    await session.open()

    relayed = await session.post(echo_call(1, {}) | {"params": {"name": "deep", "arguments": {"depth": 300}}})
    shallow = await session.post(echo_call(2, {}) | {"params": {"name": "deep", "arguments": {"depth": 3}}})
    invoked = await host.client.post(
        f"/api/servers/{server['id']}/invoke",
        json={"method": "tools/call", "params": {"name": "deep", "arguments": {"depth": 300}}},
        headers=host.admin.headers,
    )

    assert relayed.status_code == 200, relayed.text
    assert relayed.json()["id"] == 1
    assert relayed.json()["error"]["code"] == -32603
    assert "cannot be relayed" in relayed.json()["error"]["message"]
    assert shallow.json()["result"]["deep"] == [[[]]]
    assert invoked.status_code == 200, invoked.text
    assert invoked.json()["error"]["code"] == -32603
