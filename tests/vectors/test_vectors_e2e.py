"""One vector database end to end on the real parts: a supervised Chroma server, ingestion with the local embedding
model, a search through the API, and the published search server answering an agent through /mcp/{slug}."""

from __future__ import annotations

import json
import os
import signal
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from mcphost.client import MCPHostClient
from mcphost.client import vectors as client_vectors
from mcphost.models import VectorDatabase
from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.gateway.mcp_http import McpHttp
from tests.servers.hosting import status_of
from tests.support.accounts import Account, assert_error, sign_up
from tests.support.waiting import eventually
from tests.vectors.support import VECTORS, create_db, db_status, finished_job

DOCS = {
    "postgres.md": "# PostgreSQL backups\n\nUse pg_dump for logical backups of one database and pg_basebackup for a "
    "physical copy of the whole cluster. Point-in-time recovery replays the write-ahead log archive.",
    "bread.html": "<html><head><title>Sourdough</title><script>var x = 'ignored';</script></head><body><h1>Baking "
    "sourdough bread</h1><p>Feed the starter with flour and water, let the dough rise overnight, then bake it in a "
    "hot Dutch oven.</p></body></html>",
    "kubernetes.txt": "Kubernetes schedules pods onto nodes. A Deployment keeps a number of replicas of a pod "
    "running and rolls out new versions gradually.",
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **VECTORS)


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "alice@example.com")


def _files(docs: dict[str, str]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, text.encode(), "application/octet-stream")) for name, text in docs.items()]


async def _ingest(client: httpx.AsyncClient, owner: Account, db_id: str, docs: dict[str, str]) -> dict[str, Any]:
    spec = {"vector_db_id": db_id, "collection": "docs", "sources": [{"type": "upload"}], "chunk_size": 200}
    response = await client.post(
        "/api/ingestion-jobs", data={"spec": json.dumps(spec)}, files=_files(docs), headers=owner.headers
    )
    assert response.status_code == 201, response.text
    return await finished_job(client, owner, response.json()["id"])


async def _top(client: httpx.AsyncClient, owner: Account, db_id: str, query: str) -> list[dict[str, Any]]:
    response = await client.post(
        f"/api/vector-dbs/{db_id}/collections/docs/query", json={"query": query, "k": 3}, headers=owner.headers
    )
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


async def test_ingest_search_restart_publish_and_delete(
    app: FastAPI, client: httpx.AsyncClient, alice: Account, settings: Settings, tmp_path: Path
) -> None:
    db = await create_db(client, alice)
    assert db["status"] == "starting"
    db = await db_status(client, alice, db["id"], lambda d: d["status"] == "running", what="running")
    assert db["usage"]["collections"] == 0 and db["usage"]["vectors"] == 0

    # Chroma listens on loopback only, and wants the database's token even from this machine.
    async with app.state.platform.db.session_scope() as session:
        row = await session.get(VectorDatabase, uuid.UUID(db["id"]))
        assert row is not None and row.port is not None
        chroma_port, chroma_pid = row.port, row.pid
    async with httpx.AsyncClient() as anyone:
        refused = await anyone.get(
            f"http://127.0.0.1:{chroma_port}/api/v2/tenants/default_tenant/databases/default_database/collections"
        )
        assert refused.status_code in (401, 403)
    listening = Path("/proc/net/tcp").read_text()
    assert f"0100007F:{chroma_port:04X}" in listening  # 127.0.0.1, not 0.0.0.0

    # Ingest three documents of three formats; a search finds each by meaning.
    job = await _ingest(client, alice, db["id"], DOCS)
    assert job["status"] == "succeeded", job
    assert job["progress"]["documents_done"] == 3 and job["progress"]["chunks"] >= 3, job
    assert (await _top(client, alice, db["id"], "how do I restore a database to an earlier time?"))[0]["source"] == (
        "upload/postgres.md"
    )
    bread = (await _top(client, alice, db["id"], "making bread at home"))[0]
    assert bread["source"] == "upload/bread.html" and bread["title"] == "Sourdough" and "ignored" not in bread["text"]

    # Re-ingesting: an unchanged document is skipped, a changed one replaces its chunks.
    changed = DOCS | {"kubernetes.txt": "Helm charts package Kubernetes manifests as versioned releases."}
    job = await _ingest(client, alice, db["id"], changed)
    assert job["status"] == "succeeded" and job["progress"]["documents_unchanged"] == 2, job
    documents = (
        await client.get(f"/api/vector-dbs/{db['id']}/collections/docs/documents", headers=alice.headers)
    ).json()
    assert [d["source"] for d in documents] == ["upload/bread.html", "upload/kubernetes.txt", "upload/postgres.md"]
    hits = await _top(client, alice, db["id"], "rolling out replicas of pods")
    assert all("Deployment keeps" not in hit["text"] for hit in hits)

    # The typed client the CLI uses: list, query, and an ingestion with local files.
    async with MCPHostClient("http://testserver", alice.token, transport=client._transport) as api:
        assert [found["name"] for found in await client_vectors.list_dbs(api)] == ["kb"]
        top = await client_vectors.query(api, db["id"], "docs", "container orchestration", k=1)
        assert top[0]["source"] == "upload/kubernetes.txt"
        local = tmp_path / "notes.md"
        local.write_text("# Release notes\n\nVersion 2 adds vector databases.")
        started = await client_vectors.ingest(api, db["id"], "docs", [{"type": "upload"}], files=[local])
    assert (await finished_job(client, alice, started["id"]))["status"] == "succeeded"

    # The console: the list with usage, a search, and the jobs with their progress.
    browser = {"Accept": "text/html", "Cookie": f"mcphost_session={alice.token}"}
    page = (await client.get("/vectors", headers=browser)).text
    assert ">kb</a>" in page and "running" in page
    page = (
        await client.get(f"/vectors/{db['id']}", params={"q": "baking", "collection": "docs"}, headers=browser)
    ).text
    assert "upload/bread.html" in page.split('id="hits"')[1] and "upload/notes.md" in page

    # A document that cannot be read fails alone, with its reason.
    job = await _ingest(client, alice, db["id"], {"ok.md": "# Fine\n\nreadable", "broken.pdf": "not a pdf at all"})
    assert job["status"] == "partial", job
    assert job["errors"] == [{"document": "upload/broken.pdf", "error": job["errors"][0]["error"]}]
    assert "PDF" in job["errors"][0]["error"]

    # A crashed Chroma is restarted, with its data.
    os.kill(chroma_pid, signal.SIGKILL)
    db = await db_status(
        client, alice, db["id"], lambda d: d["restarts"] >= 1 and d["status"] == "running", what="restarted"
    )
    assert db["usage"]["vectors"] >= 4 and db["usage"]["bytes_on_disk"] > 0

    # Published: an agent searches through the gateway and gets the right document; documents are resources.
    published = await client.post(
        f"/api/vector-dbs/{db['id']}/publish", json={"collection": "docs"}, headers=alice.headers
    )
    assert published.status_code == 201, published.text
    server = published.json()
    await status_of(client, alice, server["server_id"], "running", timeout=90)
    mcp = McpHttp(client, server["slug"], server["access_key"])
    await mcp.initialize()
    tools = (await mcp.request("tools/list"))["result"]["tools"]
    assert [tool["name"] for tool in tools] == ["search"]
    answer = (await mcp.call("search", query="which tool makes a physical backup of the cluster?", k=2))["result"]
    assert answer["isError"] is False, answer
    assert answer["structuredContent"]["results"][0]["source"] == "upload/postgres.md"
    resources = (await mcp.request("resources/list"))["result"]["resources"]
    assert {r["name"] for r in resources} >= {"upload/postgres.md", "upload/bread.html"}
    uri = next(r["uri"] for r in resources if r["name"] == "upload/postgres.md")
    read = (await mcp.request("resources/read", {"uri": uri}))["result"]["contents"][0]["text"]
    assert read.startswith("# PostgreSQL backups") and "write-ahead log" in read

    # Deleted: the server, the Chroma process and the files go.
    assert (await client.delete(f"/api/vector-dbs/{db['id']}", headers=alice.headers)).status_code == 204
    assert_error(await client.get(f"/api/vector-dbs/{db['id']}", headers=alice.headers), 404)
    assert_error(await client.get(f"/api/servers/{server['server_id']}", headers=alice.headers), 404)
    directory = settings.home / "vectors" / db["id"]

    async def gone() -> bool:
        return not directory.exists()

    await eventually(gone, bool, timeout=20, what="files removed")
    assert not Path(f"/proc/{chroma_pid}").exists()
