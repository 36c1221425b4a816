"""The client configuration of a server: its endpoint and snippets users paste into Claude Desktop, Claude Code,
VS Code, Cursor or a Python program. The Python snippet is run against an SDK server on the endpoint's path."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from mcphost.settings import Settings
from tests.servers.hosting import deploy
from tests.support.accounts import Account, assert_error, sign_up
from tests.support.apps import adjusted, app_client

# An SDK server on PATH that answers only requests carrying "Authorization: Bearer KEY".
GUARDED_SERVER = """
import sys
import uvicorn
from mcp.server.mcpserver import MCPServer

port, path, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
server = MCPServer("snippet-target")

@server.tool()
def echo(text: str) -> str:
    return text

app = server.streamable_http_app(streamable_http_path=path)

async def guarded(scope, receive, send):
    if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != f"Bearer {key}".encode():
        await send({"type": "http.response.start", "status": 401, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    await app(scope, receive, send)

uvicorn.run(guarded, host="127.0.0.1", port=port, log_level="warning")
"""


async def config_of(client: httpx.AsyncClient, account: Account, server_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/servers/{server_id}/client-config", headers=account.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_config_points_every_client_at_the_endpoint(client: httpx.AsyncClient, admin: Account) -> None:
    server = await deploy(client, admin, name="Weather Tools")
    slug, url = server["slug"], "http://127.0.0.1:8700/mcp/weather-tools"

    config = await config_of(client, admin, server["id"])
    clients = config["clients"]

    assert slug == "weather-tools" and config["endpoint"] == url == server["endpoint_url"]
    assert config["transport"] == "streamable-http" and config["auth_header"] == "Authorization"
    assert config["auth_value_template"] == "Bearer <ACCESS_KEY>"
    assert f"POST /api/servers/{server['id']}/keys" in config["note"]
    assert server["access_key"] not in json.dumps(config)
    assert set(clients) == {"claude_desktop", "claude_code", "vscode", "cursor", "python_sdk"}
    for name, snippet in clients.items():
        if snippet["format"] == "json":
            assert isinstance(snippet["content"], dict), name
            assert json.loads(json.dumps(snippet["content"])) == snippet["content"]
        else:
            assert isinstance(snippet["content"], str), name

    desktop = clients["claude_desktop"]["content"]["mcpServers"][slug]
    assert desktop["command"] == "npx"
    assert desktop["args"][:3] == ["-y", "mcp-remote", url]
    assert desktop["args"][desktop["args"].index("--header") + 1] == "Authorization:${AUTH_HEADER}"
    assert "--allow-http" in desktop["args"]
    assert desktop["env"] == {"AUTH_HEADER": "Bearer <ACCESS_KEY>"}
    assert clients["claude_desktop"]["path"].endswith("claude_desktop_config.json")

    assert shlex.split(clients["claude_code"]["content"]) == [
        *("claude", "mcp", "add", "--transport", "http", slug, url),
        *("--header", "Authorization: Bearer <ACCESS_KEY>"),
    ]

    vscode = clients["vscode"]
    assert vscode["path"] == ".vscode/mcp.json"
    assert vscode["content"]["servers"][slug] == {
        "type": "http",
        "url": url,
        "headers": {"Authorization": "Bearer ${input:mcphost-key}"},
    }
    [prompt] = vscode["content"]["inputs"]
    assert prompt["id"] == "mcphost-key" and prompt["type"] == "promptString" and prompt["password"] is True

    cursor = clients["cursor"]
    assert cursor["path"] == "~/.cursor/mcp.json"
    assert cursor["content"] == {
        "mcpServers": {slug: {"url": url, "headers": {"Authorization": "Bearer <ACCESS_KEY>"}}}
    }

    python = clients["python_sdk"]["content"]
    compile(python, "client.py", "exec")
    assert repr(url) in python and "MCPHOST_KEY" in python


async def test_config_uses_the_public_url(settings: Settings) -> None:
    async with app_client(adjusted(settings, public_url="https://mcp.example.com/")) as client:
        owner = await sign_up(client, "owner@example.com")
        server = await deploy(client, owner)

        config = await config_of(client, owner, server["id"])

    assert config["endpoint"] == f"https://mcp.example.com/mcp/{server['slug']}"
    assert "--allow-http" not in config["clients"]["claude_desktop"]["content"]["mcpServers"][server["slug"]]["args"]


async def test_only_those_who_see_the_server_get_its_config(
    client: httpx.AsyncClient, admin: Account, user: Account
) -> None:
    server = await deploy(client, user)
    path = f"/api/servers/{server['id']}/client-config"

    assert_error(await client.get(path, headers=(await sign_up(client, "other@example.com")).headers), 404, "not_found")
    client.cookies.clear()  # signing in set a session cookie
    assert_error(await client.get(path), 401)
    assert (await client.get(path, headers=admin.headers)).status_code == 200
    assert_error(await client.get(f"{path}?key={server['access_key']}", headers=user.headers), 400, "key_in_url")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def guarded_sdk_server(port: int, path: str, key: str) -> AsyncIterator[None]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", GUARDED_SERVER, str(port), path, key, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        async with asyncio.timeout(30):
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    assert process.returncode is None, "the SDK server exited"
                    await asyncio.sleep(0.1)
        yield
    finally:
        process.kill()
        await process.wait()


async def run_snippet(code: str, key: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        env={**os.environ, "MCPHOST_KEY": key},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(60):
        output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_python_snippet_lists_the_tools_with_the_key(settings: Settings) -> None:
    port = free_port()
    async with app_client(adjusted(settings, public_url=f"http://127.0.0.1:{port}")) as client:
        owner = await sign_up(client, "owner@example.com")
        server = await deploy(client, owner, name="snippet target")
        config = await config_of(client, owner, server["id"])

    code = config["clients"]["python_sdk"]["content"]
    async with guarded_sdk_server(port, f"/mcp/{server['slug']}", server["access_key"]):
        status, output = await run_snippet(code, server["access_key"])
        refused, _ = await run_snippet(code, "not-the-key")

    assert status == 0, output
    assert output.strip().splitlines()[-1] == "['echo']"
    assert refused != 0
