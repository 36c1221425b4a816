"""Ingesting a git repository into a running vector database (a Chroma process): its Markdown and text files become
documents a search finds; after a commit changes one file, ingesting again replaces that document's chunks (its old
text is no longer found) and leaves the unchanged one alone."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.support.accounts import Account, sign_up
from tests.vectors.support import VECTORS, create_db, db_status, finished_job

GUIDE = "# Backups\n\nRun pg_dump every night and keep the dumps for thirty days on another machine."
CHANGED = "# Backups\n\nTake restic snapshots of the volume every hour; prune them weekly."
NOTES = "Tomatoes want full sun, deep watering twice a week and a stake to climb."


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **VECTORS, builds={"allow_git_schemes": ["file"]})


def _git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"]
    subprocess.run(["git", *identity, "-C", str(repo), *args], check=True, capture_output=True)


async def _ingest(client: httpx.AsyncClient, owner: Account, db_id: str, repo: Path) -> dict[str, Any]:
    spec = {"vector_db_id": db_id, "collection": "docs", "sources": [{"type": "git", "url": repo.as_uri()}]}
    response = await client.post("/api/ingestion-jobs", json=spec, headers=owner.headers)
    assert response.status_code == 201, response.text
    return await finished_job(client, owner, response.json()["id"])


async def _search(client: httpx.AsyncClient, owner: Account, db_id: str, text: str) -> list[dict[str, Any]]:
    path = f"/api/vector-dbs/{db_id}/collections/docs/query"
    response = await client.post(path, json={"query": text, "k": 5}, headers=owner.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


async def test_a_repository_is_ingested_and_a_changed_file_replaces_its_chunks(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    repo = tmp_path / "handbook"
    repo.mkdir()
    _git(repo, "init", "--quiet")
    (repo / "docs").mkdir()
    (repo / "docs" / "backups.md").write_text(GUIDE)
    (repo / "garden.txt").write_text(NOTES)
    (repo / "logo.png").write_bytes(b"\x89PNG not a document")  # skipped: not a supported type
    _git(repo, "add", ".")
    _git(repo, "commit", "--quiet", "-m", "first")
    prefix = f"git/local{repo}/"

    alice = await sign_up(client, "alice@example.com")
    db = await create_db(client, alice)
    await db_status(client, alice, db["id"], lambda d: d["status"] == "running", what="running")

    job = await _ingest(client, alice, db["id"], repo)
    assert job["status"] == "succeeded", job
    assert (job["progress"]["documents_done"], job["progress"]["documents_unchanged"]) == (2, 0), job
    top = (await _search(client, alice, db["id"], "how long are database dumps kept?"))[0]
    assert top["source"] == prefix + "docs/backups.md" and top["title"] == "Backups" and "pg_dump" in top["text"]
    assert (await _search(client, alice, db["id"], "growing vegetables"))[0]["source"] == prefix + "garden.txt"

    # A commit changes one file; ingesting the repository again replaces that document and skips the other.
    (repo / "docs" / "backups.md").write_text(CHANGED)
    _git(repo, "commit", "--quiet", "-am", "restic")
    job = await _ingest(client, alice, db["id"], repo)
    assert job["status"] == "succeeded", job
    assert (job["progress"]["documents_done"], job["progress"]["documents_unchanged"]) == (2, 1), job

    hits = await _search(client, alice, db["id"], "how long are database dumps kept?")
    assert not [hit for hit in hits if "pg_dump" in hit["text"]], hits
    assert hits[0]["source"] == prefix + "docs/backups.md" and "restic snapshots" in hits[0]["text"]
    documents = await client.get(f"/api/vector-dbs/{db['id']}/collections/docs/documents", headers=alice.headers)
    assert [(d["source"], d["chunks"]) for d in documents.json()] == [
        (prefix + "docs/backups.md", 1),
        (prefix + "garden.txt", 1),
    ]
    collections = await client.get(f"/api/vector-dbs/{db['id']}/collections", headers=alice.headers)
    assert collections.json() == [{"name": "docs", "vectors": 2, "documents": None}]
