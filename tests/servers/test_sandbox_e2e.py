"""The sandbox through the platform (issue 11, items 3 and 9-11): servers deployed through the API of a live MCP Host
(uvicorn on a loopback port, the real process runtime) try what the attacker did, and the catalog's Memory server
keeps its graph in its data directory with and without bubblewrap."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.gateway.live import LiveHost, live_host, live_settings
from tests.servers.hosting import status_of

ECHO = Path(__file__).resolve().parents[1] / "fixtures" / "echo_server.py"
MEMORY = "io.github.modelcontextprotocol/memory"


def _settings(home: Path, database_url: str, sandbox: str) -> Any:
    return live_settings(home, database_url, runtime={"host": True, "default": "process", "sandbox": sandbox})


async def _tool(host: LiveHost, server_id: str, name: str, arguments: dict[str, Any] | None = None) -> str:
    response = await host.client.post(
        f"/api/servers/{server_id}/invoke",
        json={"method": "tools/call", "params": {"name": name, "arguments": arguments or {}}},
        headers=host.admin.headers,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["result"]["content"][0]["text"])


async def test_a_hosted_server_reaches_neither_the_database_nor_mcp_host_and_is_not_root(
    tmp_path: Path, database_url: str
) -> None:
    settings = _settings(tmp_path / "home", database_url, "required")
    async with live_host(settings) as host:
        server, _ = await host.host([sys.executable, str(ECHO)])
        own_port = urlsplit(host.url).port
        assert (await host.client.get("/healthz")).status_code == 200  # MCP Host answers on its port, here
        for target, port in [("127.0.0.1", 5432), ("127.0.0.1", own_port), ("localhost", own_port)]:
            said = await _tool(host, server["id"], "try_connect", {"host": target, "port": port})
            assert said.startswith("denied"), (target, port, said)
        assert json.loads(await _tool(host, server["id"], "whoami"))["uid"] != 0
        for path in (settings.home / "servers" / server["id"] / "data", settings.home):
            said = await _tool(host, server["id"], "try_read", {"path": str(path)})
            assert said.startswith("denied: FileNotFoundError"), said


async def test_a_command_naming_the_home_is_refused_with_the_argument(tmp_path: Path, database_url: str) -> None:
    settings = _settings(tmp_path / "home", database_url, "required")
    async with live_host(settings) as host:
        secret = settings.home / "secret.key"
        secret.write_text("the instance key, as `mcphost up` generates it")  # the tests pass theirs in settings
        source = {"type": "command", "command": [sys.executable, str(ECHO), str(secret)]}
        created = await host.client.post(
            "/api/servers", json={"name": "thief", "source": source}, headers=host.admin.headers
        )
        assert created.status_code == 201, created.text
        failed = await status_of(host.client, host.admin, created.json()["id"], "error", timeout=60)
        assert f"argument '{secret}'" in failed["status_reason"], failed["status_reason"]
        assert "MCP Host's own data" in failed["status_reason"]


async def test_a_package_cannot_run_the_interpreter_with_code(tmp_path: Path, database_url: str) -> None:
    async with live_host(_settings(tmp_path / "home", database_url, "required")) as host:
        source = {
            "type": "package",
            "registry_type": "pypi",
            "identifier": "mcp-server-time",
            "bin": "python",
            "args": ["-c", "import os; os.system('id')"],
        }
        refused = await host.client.post(
            "/api/servers", json={"name": "sneaky", "source": source}, headers=host.admin.headers
        )
        assert refused.status_code == 422, refused.text
        assert "interpreter or shell" in refused.text


@pytest.mark.parametrize("sandbox", ["off", "required"])
async def test_the_catalog_memory_server_writes_into_its_data_directory(
    sandbox: str, tmp_path: Path, database_url: str
) -> None:
    settings = _settings(tmp_path / "home", database_url, sandbox)
    async with live_host(settings) as host:
        created = await host.client.post(
            "/api/servers",
            json={"name": "memory", "source": {"type": "catalog", "name": MEMORY}},
            headers=host.admin.headers,
        )
        assert created.status_code == 201, created.text
        server = await status_of(host.client, host.admin, created.json()["id"], "running", "error", timeout=240)
        assert server["status"] == "running", server["status_reason"]
        entity = {"name": "Ada", "entityType": "person", "observations": [f"remembered with sandbox={sandbox}"]}
        said = await _tool(host, server["id"], "create_entities", {"entities": [entity]})
        assert "Ada" in said and "ENOENT" not in said, said
        graph = settings.home / "servers" / server["id"] / "data" / "memory.jsonl"
        assert f"remembered with sandbox={sandbox}" in graph.read_text()
        assert "Ada" in await _tool(host, server["id"], "read_graph")
