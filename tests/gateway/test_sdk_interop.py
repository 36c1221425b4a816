"""The official Python SDK client (mcp 2.x) through the gateway, in its automatic mode (which probes the stateless
era with server/discover) and its legacy mode (initialize and a session), against an SDK server over stdio."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.client.streamable_http import streamable_http_client

from mcp import Client, types
from tests.gateway.live import LiveHost, live_host, live_settings


@pytest.fixture
async def host(tmp_path: Path, database_url: str) -> AsyncIterator[LiveHost]:
    async with live_host(live_settings(tmp_path / "home", database_url)) as running:
        yield running


def sdk_client(url: str, key: str, mode: str, **options: Any) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30)
    return Client(streamable_http_client(url, http_client=http), mode=mode, **options)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_sdk_client_lists_and_calls_tools(host: LiveHost, mode: str) -> None:
    server, key = await host.host_conformance_server()

    async with sdk_client(server["endpoint_url"].replace("http://127.0.0.1:8700", host.url), key, mode) as client:
        tools = await client.list_tools()
        result = await client.call_tool("test_simple_text", {})

    assert "test_simple_text" in [tool.name for tool in tools.tools]
    assert result.content[0].text == "This is a simple text response for testing."  # type: ignore[union-attr]


async def test_sampling_and_progress_reach_the_client_that_called(host: LiveHost) -> None:
    server, key = await host.host_conformance_server()
    asked: list[str] = []
    progress: list[float] = []

    async def sample(_context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        asked.append(params.messages[0].content.text)  # type: ignore[union-attr]
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text="forty-two"), model="m"
        )

    async def on_progress(value: float, _total: float | None, _message: str | None) -> None:
        progress.append(value)

    url = f"{host.url}/mcp/{server['slug']}"
    async with sdk_client(url, key, "legacy", sampling_callback=sample) as client:
        sampled = await client.call_tool("test_sampling", {"prompt": "the answer?"})
        await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)

    assert asked == ["the answer?"]
    assert "forty-two" in sampled.content[0].text  # type: ignore[union-attr]
    assert progress == [0, 50, 100]


async def test_a_wrong_key_is_refused(host: LiveHost) -> None:
    server, _ = await host.host_conformance_server()

    with pytest.raises(ExceptionGroup) as refused:  # the SDK's task group carries the transport's error
        async with sdk_client(f"{host.url}/mcp/{server['slug']}", "mcph_sk_wrong", "legacy") as client:
            await client.list_tools()

    assert "The access key is not valid." in repr(refused.value)
