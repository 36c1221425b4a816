"""What the MCP endpoint checks before it looks at a message, at a live gateway (uvicorn, the process runtime, a real
stdio MCP server): the Host header parsed strictly (DNS rebinding), the Accept header (406), and the methods a
405 names (the endpoint's, and the API's when a path has several routes)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from tests.gateway.live import FIXTURES, LiveHost, live_host, live_settings
from tests.gateway.mcp_http import ACCEPT

ECHO_SERVER = [sys.executable, str(FIXTURES / "echo_server.py")]
INITIALIZE = orjson.dumps(
    {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
)


@pytest.fixture
async def host(tmp_path: Path, database_url: str) -> AsyncIterator[LiveHost]:
    async with live_host(live_settings(tmp_path / "home", database_url)) as running:
        yield running


@pytest.fixture
async def endpoint(host: LiveHost) -> tuple[str, dict[str, str]]:
    """The path of a hosted server's endpoint and the headers of a good request to it."""
    server, key = await host.host(ECHO_SERVER)
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json", "accept": ACCEPT}
    return f"/mcp/{server['slug']}", headers


#: Host header -> status; the first three once passed as host 127.0.0.1.
HOSTS = {
    "127.0.0.1:8795@evil.example": 400,
    "127.0.0.1:8795/evil.example": 400,
    "127.0.0.1 evil.example": 400,
    "evil.example": 403,
    "evil.example:8795": 403,
    "127.0.0.1:8795": 200,
    "localhost": 200,
    "[::1]:8795": 200,
}
#: Accept header -> status.
ACCEPTS = {
    "text/html": 406,
    "text/html, application/xhtml+xml": 406,
    "application/json;q=0, text/event-stream;q=0": 406,
    "application/json": 200,
    "text/event-stream": 200,
    "application/json, text/event-stream": 200,
    "*/*": 200,
}


async def test_the_host_header_is_parsed_strictly(host: LiveHost, endpoint: tuple[str, dict[str, str]]) -> None:
    path, headers = endpoint

    answers = {
        value: await host.client.post(path, content=INITIALIZE, headers=headers | {"host": value}) for value in HOSTS
    }

    assert {value: answer.status_code for value, answer in answers.items()} == HOSTS
    for value, answer in answers.items():
        if HOSTS[value] == 400:
            assert answer.json()["error"]["data"]["reason"] == "host"
            assert "Host header is malformed" in answer.json()["error"]["message"]
        elif HOSTS[value] == 403:
            assert answer.json()["error"]["data"]["reason"] == "origin"


async def test_a_post_that_accepts_neither_answer_gets_406(
    host: LiveHost, endpoint: tuple[str, dict[str, str]]
) -> None:
    path, headers = endpoint

    answers = {
        value: await host.client.post(path, content=INITIALIZE, headers=headers | {"accept": value})
        for value in ACCEPTS
    }

    assert {value: answer.status_code for value, answer in answers.items()} == ACCEPTS
    refused = answers["text/html"].json()["error"]
    assert refused["data"]["reason"] == "accept"
    assert "Accept: application/json, text/event-stream" in refused["message"]


async def test_a_405_lists_every_method_the_endpoint_answers(
    host: LiveHost, endpoint: tuple[str, dict[str, str]]
) -> None:
    path, headers = endpoint
    server_id = (await host.client.get("/api/servers", headers=host.admin.headers)).json()["items"][0]["id"]

    mcp = await host.client.put(path, content=INITIALIZE, headers=headers)
    one_server = await host.client.put(f"/api/servers/{server_id}", headers=host.admin.headers)
    servers = await host.client.delete("/api/servers", headers=host.admin.headers)

    assert mcp.status_code == 405
    assert mcp.headers["allow"] == "GET, POST, DELETE, OPTIONS"
    assert one_server.status_code == 405
    assert one_server.headers["allow"] == "GET, PATCH, DELETE"
    assert "use GET, PATCH, DELETE" in one_server.json()["error"]["message"]
    assert servers.status_code == 405
    assert servers.headers["allow"] == "GET, POST"
