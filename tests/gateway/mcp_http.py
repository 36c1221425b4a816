"""A small Streamable HTTP client for gateway tests: the raw exchanges, so tests see statuses and headers."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import orjson

from tests.servers.hosting import deploy, status_of
from tests.support.accounts import Account

ACCEPT = "application/json, text/event-stream"
VERSION = "2025-11-25"


async def hosted_with_key(client: httpx.AsyncClient, owner: Account, **body: Any) -> tuple[dict[str, Any], str]:
    """A running server and an access key for it."""
    server = await deploy(client, owner, **body)
    await status_of(client, owner, server["id"], "running")
    response = await client.post(f"/api/servers/{server['id']}/keys", json={"name": "test"}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return server, str(response.json()["key"])


def sse_messages(text: str) -> list[dict[str, Any]]:
    """The JSON messages of an event-stream body (priming events and comments skipped)."""
    found = []
    for block in text.split("\n\n"):
        data = [line[5:].lstrip() for line in block.split("\n") if line.startswith("data:")]
        if data and "".join(data):
            found.append(orjson.loads("\n".join(data)))
    return found


class McpHttp:
    """One client session against ``/mcp/{slug}``."""

    def __init__(self, client: httpx.AsyncClient, slug: str, key: str, **headers: str) -> None:
        self.client = client
        self.path = f"/mcp/{slug}"
        self.headers = {"authorization": f"Bearer {key}", "accept": ACCEPT, **headers}
        self.session_id: str | None = None
        self._ids = itertools.count(1)

    def _headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.session_id is not None:
            headers["mcp-session-id"] = self.session_id
            headers["mcp-protocol-version"] = VERSION
        return headers

    async def post(self, message: dict[str, Any] | list[Any], **headers: str) -> httpx.Response:
        return await self.client.post(
            self.path,
            content=orjson.dumps(message),
            headers={"content-type": "application/json", **self._headers(), **headers},
        )

    async def initialize(self, capabilities: dict[str, Any] | None = None) -> dict[str, Any]:
        params = {
            "protocolVersion": VERSION,
            "capabilities": capabilities or {},
            "clientInfo": {"name": "t", "version": "1"},
        }
        response = await self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params})
        assert response.status_code == 200, response.text
        self.session_id = response.headers["mcp-session-id"]
        initialized = await self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert initialized.status_code == 202, initialized.text
        return dict(response.json()["result"])

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The answer message (the last one, when the answer is a stream)."""
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": next(self._ids), "method": method}
        if params is not None:
            message["params"] = params
        response = await self.post(message)
        assert response.status_code == 200, response.text
        if response.headers["content-type"].startswith("text/event-stream"):
            return sse_messages(response.text)[-1]
        return dict(response.json())

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        return await self.request("tools/call", {"name": tool, "arguments": arguments})
