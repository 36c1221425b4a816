"""The Streamable HTTP client connection against a server built with the official SDK, answering with SSE and
with plain JSON."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mcphost.mcp.http import HttpConnection
from mcphost.mcp.jsonrpc import ConnectionClosed, JsonRpcError
from mcphost.mcp.session import McpSession

SERVER = Path(__file__).resolve().parents[1] / "fixtures" / "http_server.py"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["sse", "json"])
async def url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    port = free_port()
    flags = ["--json"] if request.param == "json" else []
    process = subprocess.Popen([sys.executable, str(SERVER), str(port), *flags], stderr=subprocess.DEVNULL)  # noqa: ASYNC220
    address = f"http://127.0.0.1:{port}/mcp"
    try:
        async with asyncio.timeout(30):
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    assert process.poll() is None, "the fixture server exited"
                    await asyncio.sleep(0.1)
        yield address
    finally:
        process.kill()
        process.wait(10)


async def test_initialize_list_and_call(url: str) -> None:
    connection = HttpConnection(url)
    session = McpSession(connection, timeout=10)
    try:
        manifest = await session.initialize()
        tools = await session.list_tools()
        result = await session.call_tool("add", {"a": 2, "b": 40})
        await session.ping()
    finally:
        await connection.close()

    assert manifest.name == "http-fixture" and manifest.protocol_version == "2025-11-25"
    assert {"echo", "add"} <= {tool["name"] for tool in tools}
    assert "42" in str(result["content"])
    assert connection.session_id is not None or connection.protocol_version == "2025-11-25"


async def test_requests_carry_the_session_and_errors_come_back(url: str) -> None:
    connection = HttpConnection(url)
    session = McpSession(connection, timeout=10)
    try:
        await session.initialize()
        concurrent = await asyncio.gather(*(session.call_tool("echo", {"text": f"n{i}"}) for i in range(20)))
        with pytest.raises(JsonRpcError):
            await connection.request("no/such/method", {}, timeout=10)
    finally:
        await connection.close()

    assert [result["content"][0]["text"] for result in concurrent] == [f"n{i}" for i in range(20)]


async def test_an_unreachable_server_is_a_closed_connection() -> None:
    connection = HttpConnection(f"http://127.0.0.1:{free_port()}/mcp")
    try:
        with pytest.raises(ConnectionClosed):
            await connection.request("ping", {}, timeout=2)
    finally:
        await connection.close()


async def test_a_shared_http_client_is_left_open() -> None:
    async with httpx.AsyncClient() as client:
        connection = HttpConnection(f"http://127.0.0.1:{free_port()}/mcp", client=client)
        await connection.close()
        assert not client.is_closed


async def test_the_get_stream_brings_notifications_outside_requests(url: str) -> None:
    connection = HttpConnection(url)
    session = McpSession(connection, timeout=10)
    changed = asyncio.Event()
    connection.on_notification(
        lambda message: changed.set() if message["method"] == "notifications/tools/list_changed" else None
    )
    try:
        await session.initialize()
        connection.listen()
        await asyncio.sleep(0.3)  # the GET stream is open before the change happens
        await session.call_tool("grow", {})
        await asyncio.wait_for(changed.wait(), 10)
        tools = await session.list_tools()
    finally:
        await connection.close()

    assert any(tool["name"].startswith("grown_") for tool in tools)
