"""End to end with a real server from PyPI: mcp-server-time (the official Python SDK underneath)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from mcphost.mcp import JsonRpcError, McpSession

from .conftest import spawn_server


async def test_initialize_list_and_call_the_time_server(time_server: Path) -> None:
    async with (
        asyncio.timeout(60),
        spawn_server([str(time_server), "--local-timezone", "UTC"]) as (process, connection),
    ):
        session = McpSession(connection, timeout=20)
        manifest = await session.initialize()
        assert manifest.name == "mcp-time"
        assert manifest.protocol_version == "2025-11-25"
        everything = await session.capabilities()
        assert {"get_current_time", "convert_time"} <= {tool["name"] for tool in everything["tools"]}

        before = dt.datetime.now(dt.UTC).replace(microsecond=0)
        result = await session.call_tool("get_current_time", {"timezone": "Asia/Tokyo"})
        assert result["isError"] is False
        answered = dt.datetime.fromisoformat(result["structuredContent"]["datetime"])
        assert answered.utcoffset() == dt.timedelta(hours=9)
        assert abs((answered - before).total_seconds()) < 60

        with pytest.raises(JsonRpcError) as caught:
            await session.call_tool("get_future_time", {})
        assert caught.value.code == -32602
        assert await session.ping() < 20

        await connection.close()  # closing stdin is how a stdio server is asked to exit
        assert await process.wait() == 0
