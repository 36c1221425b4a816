"""Ready-to-paste configuration for MCP clients (Claude Desktop, Claude Code, VS Code, Cursor, the Python SDK) that
connect to a server's endpoint.

Access keys are stored only as hashes, so the snippets carry a placeholder where the key goes: ``<ACCESS_KEY>`` in
files the user edits, an environment variable or a password prompt where the client can read one.
"""

from __future__ import annotations

import shlex
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from mcphost.servers.views import endpoint_url

__all__ = ["KEY_PLACEHOLDER", "ClientConfigOut", "ClientSnippet", "ClientSnippets", "client_config"]

KEY_PLACEHOLDER = "<ACCESS_KEY>"
KEY_ENV = "MCPHOST_KEY"
VSCODE_INPUT = "mcphost-key"


class ClientSnippet(BaseModel):
    format: Literal["json", "shell", "python"] = Field(description="How to read 'content'.")
    path: str | None = Field(description="The file it goes into (merge with what is there), or null for a command.")
    content: str | dict[str, Any] = Field(description="A JSON object for json, else the text.")
    note: str | None = Field(None, description="What to know before using it.")


class ClientSnippets(BaseModel):
    claude_desktop: ClientSnippet
    claude_code: ClientSnippet
    vscode: ClientSnippet
    cursor: ClientSnippet
    python_sdk: ClientSnippet


class ClientConfigOut(BaseModel):
    endpoint: str = Field(description="The server's MCP endpoint.")
    transport: Literal["streamable-http"] = "streamable-http"
    auth_header: Literal["Authorization"] = "Authorization"
    auth_value_template: str = Field(f"Bearer {KEY_PLACEHOLDER}", description="Replace the placeholder by a key.")
    note: str
    clients: ClientSnippets


def _claude_desktop(name: str, url: str) -> ClientSnippet:
    # Claude Desktop starts only stdio servers from its file; mcp-remote bridges stdio to the endpoint. The header
    # goes through an environment variable without spaces in the argument, which Claude Desktop on Windows would
    # split (mcp-remote's documented form).
    args = ["-y", "mcp-remote", url, "--transport", "http-only", "--header", "Authorization:${AUTH_HEADER}"]
    if url.startswith("http://"):
        args.append("--allow-http")
    server = {"command": "npx", "args": args, "env": {"AUTH_HEADER": f"Bearer {KEY_PLACEHOLDER}"}}
    return ClientSnippet(
        format="json",
        path="~/Library/Application Support/Claude/claude_desktop_config.json",
        content={"mcpServers": {name: server}},
        note="On Windows the file is %APPDATA%\\Claude\\claude_desktop_config.json. Needs Node.js (npx).",
    )


def _claude_code(name: str, url: str) -> ClientSnippet:
    command = [
        "claude",
        "mcp",
        "add",
        "--transport",
        "http",
        name,
        url,
        "--header",
        f"Authorization: Bearer {KEY_PLACEHOLDER}",
    ]
    return ClientSnippet(format="shell", path=None, content=shlex.join(command))


def _vscode(name: str, url: str) -> ClientSnippet:
    content = {
        "servers": {
            name: {"type": "http", "url": url, "headers": {"Authorization": f"Bearer ${{input:{VSCODE_INPUT}}}"}}
        },
        "inputs": [
            {
                "type": "promptString",
                "id": VSCODE_INPUT,
                "description": f"MCP Host access key for {name}",
                "password": True,
            }
        ],
    }
    return ClientSnippet(
        format="json", path=".vscode/mcp.json", content=content, note="VS Code asks for the key once and stores it."
    )


def _cursor(name: str, url: str) -> ClientSnippet:
    server = {"url": url, "headers": {"Authorization": f"Bearer {KEY_PLACEHOLDER}"}}
    return ClientSnippet(format="json", path="~/.cursor/mcp.json", content={"mcpServers": {name: server}})


PYTHON_SNIPPET = '''\
"""Lists the tools of the MCP Host server {name}. Needs: pip install "mcp>=2"; the key in ${key_env}."""

import asyncio
import os

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

URL = {url!r}


async def main() -> None:
    headers = {{"Authorization": f"Bearer {{os.environ['{key_env}']}}"}}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300)) as http:
        async with Client(streamable_http_client(URL, http_client=http)) as client:
            tools = await client.list_tools()
            print([tool.name for tool in tools.tools])


asyncio.run(main())
'''


def _python_sdk(name: str, url: str) -> ClientSnippet:
    return ClientSnippet(
        format="python",
        path=None,
        content=PYTHON_SNIPPET.format(name=name, url=url, key_env=KEY_ENV),
        note=f"Set {KEY_ENV} to the key before running it. Uses the official SDK, mcp 2.x.",
    )


def client_config(public_url: str, server_id: uuid.UUID, slug: str) -> ClientConfigOut:
    """The endpoint of a server and a snippet per client, each naming the server by its slug."""
    url = endpoint_url(public_url, slug)
    return ClientConfigOut(
        endpoint=url,
        note=(
            f"Replace {KEY_PLACEHOLDER} by an access key of this server. MCP Host keeps only a hash of each key: "
            f"a key is shown once, when the server is created or by POST /api/servers/{server_id}/keys. "
            "Send it in the Authorization header, never in the URL."
        ),
        clients=ClientSnippets(
            claude_desktop=_claude_desktop(slug, url),
            claude_code=_claude_code(slug, url),
            vscode=_vscode(slug, url),
            cursor=_cursor(slug, url),
            python_sdk=_python_sdk(slug, url),
        ),
    )
