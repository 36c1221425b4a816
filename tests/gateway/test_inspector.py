"""The MCP Inspector's command line (npm @modelcontextprotocol/inspector, ``--cli``) lists and calls tools through
the gateway with an access key, and is refused with a wrong one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.gateway.conformance import ConformanceSuiteMissing, node22_bin, tools_dir
from tests.gateway.live import LiveHost, live_host, live_settings


def inspector_cli() -> Path:
    script = tools_dir() / "inspector" / "node_modules" / ".bin" / "mcp-inspector"
    if not script.is_file():
        raise ConformanceSuiteMissing(
            f"the Inspector CLI is not installed at {script}; run scripts/install_node_tools.sh"
        )
    return script


async def inspect(url: str, key: str, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(node22_bin()),
        str(inspector_cli()),
        "--cli",
        url,
        "--transport",
        "http",
        "--header",
        f"Authorization: Bearer {key}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, output.decode(errors="replace")


@pytest.fixture
async def host(tmp_path: Path, database_url: str) -> AsyncIterator[LiveHost]:
    async with live_host(live_settings(tmp_path / "home", database_url)) as running:
        yield running


async def test_the_inspector_lists_and_calls_tools(host: LiveHost) -> None:
    server, key = await host.host_conformance_server()
    url = f"{host.url}/mcp/{server['slug']}"

    listed_code, listed = await inspect(url, key, "--method", "tools/list")
    called_code, called = await inspect(url, key, "--method", "tools/call", "--tool-name", "test_simple_text")
    refused_code, refused = await inspect(url, "mcph_sk_wrong", "--method", "tools/list")

    assert listed_code == 0, listed
    names = [tool["name"] for tool in json.loads(listed[listed.index("{") :])["tools"]]
    assert "test_simple_text" in names
    assert called_code == 0, called
    assert "This is a simple text response for testing." in called
    assert refused_code != 0
    assert "auth_required" in refused  # the Inspector took the 401 as a request to sign in
