"""Files reach the hosted server: uploaded through the API, the fixture server (real process runtime, sandboxed)
lists and reads them in /data; a file it writes there is listed and downloaded through the API."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.gateway.mcp_http import McpHttp
from tests.servers.hosting import PROCESS, status_of
from tests.support.accounts import sign_up

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "echo_server.py"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **PROCESS)


async def test_the_server_reads_uploaded_files_and_the_api_serves_what_it_writes(client: httpx.AsyncClient) -> None:
    admin = await sign_up(client, "admin@example.com")  # command sources are for administrators
    source = {"type": "command", "command": [sys.executable, str(FIXTURE)]}
    created = await client.post("/api/servers", json={"name": "files", "source": source}, headers=admin.headers)
    server = created.json()
    base = f"/api/servers/{server['id']}/files"
    uploaded = await client.put(f"{base}/docs/readme.txt", content=b"uploaded through the API", headers=admin.headers)
    assert uploaded.status_code == 201, uploaded.text
    running = await status_of(client, admin, server["id"], "running", "error", timeout=120)
    assert running["status"] == "running", running["status_reason"]
    key = (await client.post(f"/api/servers/{server['id']}/keys", json={"name": "t"}, headers=admin.headers)).json()
    mcp = McpHttp(client, server["slug"], key["key"])
    await mcp.initialize()

    whoami = json.loads((await mcp.call("whoami"))["result"]["content"][0]["text"])
    read = (await mcp.call("try_read", path="/data/docs/readme.txt"))["result"]["content"][0]["text"]
    wrote = (await mcp.call("try_write", path="/data/report.txt"))["result"]["content"][0]["text"]
    listing = await client.get(base, headers=admin.headers)
    report = await client.get(f"{base}/report.txt", headers=admin.headers)

    assert "docs" in whoami["data"]
    assert read == "ok: uploaded through the API"
    assert wrote.startswith("ok"), wrote
    assert {entry["name"] for entry in listing.json()["entries"]} == {"docs", "report.txt"}
    assert report.status_code == 200 and report.content == b"written by the fixture"
