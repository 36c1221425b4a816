"""McpSession against the fixture server and ad-hoc servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from mcphost.mcp import JsonRpcError, McpSession, ProtocolError, UnsupportedProtocolVersion

from .conftest import Server

Start = Callable[..., AbstractAsyncContextManager[Server]]

# Records every method it receives; "debug/received" answers with that list.
RECORDER = """
received = []
for message in messages():
    method = message.get("method")
    received.append(method)
    if method == "initialize":
        answer(message, INIT)
    elif method == "debug/received":
        answer(message, {"received": received})
    elif "id" in message:
        send({"jsonrpc": "2.0", "id": message["id"], "error": {"code": -32601, "message": "Method not found"}})
"""


def recorder(init: dict[str, Any] | None = None) -> str:
    """The recorder, answering initialize with ``init`` (by default a valid reply)."""
    return (f"INIT = json.loads({json.dumps(init)!r})\n" if init else "INIT = init_result()\n") + RECORDER


async def test_initialize_returns_the_manifest(fixture_server: Start) -> None:
    async with asyncio.timeout(10), fixture_server() as (_, connection):
        manifest = await McpSession(connection).initialize()
    assert (manifest.name, manifest.version) == ("echo-fixture", "1.0.0")
    assert manifest.protocol_version == "2025-11-25"
    assert manifest.capabilities == {"tools": {"listChanged": True}, "resources": {}, "prompts": {}}
    assert manifest.instructions == "A server for tests."
    assert manifest.to_dict()["serverInfo"] == {"name": "echo-fixture", "version": "1.0.0"}


@pytest.mark.parametrize("version", ["2024-11-05", "2025-03-26", "2025-06-18"])
async def test_an_older_protocol_version_can_be_negotiated(fixture_server: Start, version: str) -> None:
    async with asyncio.timeout(10), fixture_server() as (_, connection):
        manifest = await McpSession(connection).initialize(protocol_version=version)
    assert manifest.protocol_version == version


async def test_initialize_sends_initialized_after_a_good_reply(adhoc_server: Start) -> None:
    async with asyncio.timeout(10), adhoc_server(recorder()) as (_, connection):
        session = McpSession(connection)
        await session.initialize(client_info={"name": "tests", "version": "1"})
        received = await connection.request("debug/received", timeout=5)
    assert received["received"] == ["initialize", "notifications/initialized", "debug/received"]


async def test_an_unsupported_protocol_version_is_refused(adhoc_server: Start) -> None:
    init = {"protocolVersion": "2099-01-01", "capabilities": {}, "serverInfo": {"name": "future", "version": "9"}}
    async with asyncio.timeout(10), adhoc_server(recorder(init)) as (_, connection):
        session = McpSession(connection)
        with pytest.raises(UnsupportedProtocolVersion, match="2099-01-01"):
            await session.initialize()
        received = await connection.request("debug/received", timeout=5)
        assert received["received"] == ["initialize", "debug/received"]  # no notifications/initialized
        with pytest.raises(RuntimeError, match="initialize"):
            await session.list_tools()


async def test_a_reply_without_server_info_is_a_protocol_error(adhoc_server: Start) -> None:
    init = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}}
    async with asyncio.timeout(10), adhoc_server(recorder(init)) as (_, connection):
        with pytest.raises(ProtocolError, match="serverInfo"):
            await McpSession(connection).initialize()


async def test_lists_follow_pagination_to_the_end(fixture_server: Start) -> None:
    env = {"FIXTURE_TOOLS_PAGE_SIZE": "2", "FIXTURE_EXTRA_TOOLS": "6"}
    async with asyncio.timeout(10), fixture_server(**env) as (_, connection):
        session = McpSession(connection)
        await session.initialize()
        tools = await session.list_tools()
    names = [tool["name"] for tool in tools]
    assert len(names) == 9 + 6 == len(set(names))
    assert names[:3] == ["echo", "add", "sleep"]
    assert names[-1] == "extra_5"


async def test_capabilities_lists_everything(fixture_server: Start) -> None:
    async with asyncio.timeout(10), fixture_server() as (_, connection):
        session = McpSession(connection)
        await session.initialize()
        everything = await session.capabilities()
    assert "echo" in [tool["name"] for tool in everything["tools"]]
    assert everything["resources"] == [{"uri": "fixture://readme", "name": "readme", "mimeType": "text/plain"}]
    assert everything["resource_templates"] == [{"uriTemplate": "fixture://items/{id}", "name": "item"}]
    assert [prompt["name"] for prompt in everything["prompts"]] == ["greet"]


async def test_undeclared_features_are_not_asked_for(adhoc_server: Start) -> None:
    # Declares only tools; the recorder answers tools/list with an error, every other list would be one too.
    body = """
for message in messages():
    method = message.get("method")
    if method == "initialize":
        answer(message, init_result(capabilities={"tools": {}}))
    elif method == "tools/list":
        answer(message, {"tools": [{"name": "only", "inputSchema": {"type": "object"}}]})
    elif "id" in message:
        send({"jsonrpc": "2.0", "id": message["id"], "error": {"code": -32601, "message": "Method not found"}})
"""
    async with asyncio.timeout(10), adhoc_server(body) as (_, connection):
        session = McpSession(connection)
        await session.initialize()
        everything = await session.capabilities()
    assert everything == {
        "tools": [{"name": "only", "inputSchema": {"type": "object"}}],
        "resources": [],
        "resource_templates": [],
        "prompts": [],
    }


async def test_a_cursor_that_repeats_is_refused(adhoc_server: Start) -> None:
    body = """
for message in messages():
    if message.get("method") == "initialize":
        answer(message, init_result())
    elif message.get("method") == "tools/list":
        answer(message, {"tools": [{"name": "again"}], "nextCursor": "same"})
"""
    async with asyncio.timeout(10), adhoc_server(body) as (_, connection):
        session = McpSession(connection)
        await session.initialize()
        with pytest.raises(ProtocolError, match="twice"):
            await session.list_tools()


async def test_endless_pages_are_capped(adhoc_server: Start) -> None:
    body = """
for message in messages():
    if message.get("method") == "initialize":
        answer(message, init_result())
    elif message.get("method") == "tools/list":
        page = int((message.get("params") or {}).get("cursor") or 0)
        answer(message, {"tools": [{"name": f"t{page}"}], "nextCursor": str(page + 1)})
"""
    async with asyncio.timeout(10), adhoc_server(body) as (_, connection):
        session = McpSession(connection, max_pages=20)
        await session.initialize()
        with pytest.raises(ProtocolError, match="more than 20 pages"):
            await session.list_tools()


async def test_call_tool_ping_and_errors(fixture_server: Start) -> None:
    async with asyncio.timeout(10), fixture_server() as (_, connection):
        session = McpSession(connection, timeout=5)
        await session.initialize()
        assert 0 < await session.ping() < 5
        added = await session.call_tool("add", {"a": 2, "b": 40})
        assert added == {"content": [{"type": "text", "text": "42"}], "isError": False}
        failed = await session.call_tool("fail")
        assert failed["isError"] is True
        with pytest.raises(JsonRpcError) as caught:
            await session.call_tool("no_such_tool")
        assert caught.value.code == -32602


async def test_a_busy_server_fails_its_health_check_in_time(fixture_server: Start) -> None:
    async with asyncio.timeout(10), fixture_server() as (_, connection):
        session = McpSession(connection)
        await session.initialize()
        busy = asyncio.create_task(session.call_tool("sleep", {"seconds": 1}))
        await asyncio.sleep(0.1)
        with pytest.raises(TimeoutError):
            await session.ping(timeout=0.3)
        assert (await busy)["content"][0]["text"] == "slept"
        assert await session.ping(timeout=5) < 5
