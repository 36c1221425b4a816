"""The vector database API without a running Chroma (nothing hosts servers here): scoping, quotas, and the clear
errors of bad requests. Both databases."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.support.accounts import assert_error, sign_up
from tests.vectors.support import create_db


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(
        tmp_path / "home",
        database_url,
        vectors={"max_per_user": 2},
        ingestion={"url_allow_list": ["docs.example.com"]},
    )


async def test_scoping_quota_and_bad_requests(client: httpx.AsyncClient) -> None:
    alice = await sign_up(client, "alice@example.com")
    bob = await sign_up(client, "bob@example.com")
    db = await create_db(client, alice)
    assert db["owner_user_id"] == str(alice.id) and db["status"] == "starting"
    assert db["usage"]["collections"] is None and db["usage"]["disk_limit_bytes"] == 1 << 30

    # Another user neither sees nor touches it (404, not 403).
    assert [d["id"] for d in (await client.get("/api/vector-dbs", headers=bob.headers)).json()] == []
    assert_error(await client.get(f"/api/vector-dbs/{db['id']}", headers=bob.headers), 404, "vector_db_not_found")
    assert_error(await client.delete(f"/api/vector-dbs/{db['id']}", headers=bob.headers), 404)
    spec = {
        "vector_db_id": db["id"],
        "collection": "docs",
        "sources": [{"type": "url", "url": "https://docs.example.com/a"}],
    }
    assert_error(await client.post("/api/ingestion-jobs", json=spec, headers=bob.headers), 404)

    # A database that is not running yet answers 409 with the reason (its state), not a 500.
    response = await client.get(f"/api/vector-dbs/{db['id']}/collections", headers=alice.headers)
    assert_error(response, 409, "vector_db_not_running")
    assert "starting" in response.json()["error"]["message"]

    # Bad names and bodies.
    assert_error(
        await client.post(f"/api/vector-dbs/{db['id']}/collections", json={"name": "x"}, headers=alice.headers), 422
    )
    assert_error(await client.post("/api/vector-dbs", json={"name": ""}, headers=alice.headers), 422)

    # Ingestion: sources checked when the job is defined.
    not_allowed = spec | {"sources": [{"type": "url", "url": "https://intranet.example.org/x"}]}
    error = assert_error(await client.post("/api/ingestion-jobs", json=not_allowed, headers=alice.headers), 422)
    assert error["code"] == "url_not_allowed" and "allow-list" in str(error["message"])
    no_files = spec | {"sources": [{"type": "upload"}]}
    error = assert_error(await client.post("/api/ingestion-jobs", json=no_files, headers=alice.headers), 422)
    assert "multipart" in str(error["message"])
    overlap = spec | {"chunk_size": 200, "chunk_overlap": 300}
    assert_error(await client.post("/api/ingestion-jobs", json=overlap, headers=alice.headers), 422)
    other_server = spec | {"sources": [{"type": "server_files", "server_id": db["id"]}]}
    assert_error(await client.post("/api/ingestion-jobs", json=other_server, headers=alice.headers), 404)
    bad_type = {"spec": json.dumps({"vector_db_id": db["id"], "collection": "docs", "sources": [{"type": "upload"}]})}
    response = await client.post(
        "/api/ingestion-jobs",
        data=bad_type,
        files=[("files", ("x.exe", b"MZ", "application/octet-stream"))],
        headers=alice.headers,
    )
    assert_error(response, 422, "unsupported_document")
    assert_error(
        await client.post(
            "/api/ingestion-jobs", content=b"{nope", headers=alice.headers | {"content-type": "application/json"}
        ),
        422,
    )
    boundary = "7c5156fb04a2177cf9e322ad31ebde44"  # a body the multipart parser cannot read (found by the fuzzer)
    broken = await client.post(
        "/api/ingestion-jobs",
        content=f"--{boundary}\r\nNone--{boundary}--\r\n".encode(),
        headers=alice.headers | {"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert "multipart form could not be read" in str(assert_error(broken, 422)["message"])

    # A queued job can be cancelled (then deleted); a finished one cannot be cancelled again.
    job = (await client.post("/api/ingestion-jobs", json=spec, headers=alice.headers)).json()
    assert job["status"] == "queued"
    assert_error(await client.delete(f"/api/ingestion-jobs/{job['id']}", headers=alice.headers), 409)
    cancelled = await client.post(f"/api/ingestion-jobs/{job['id']}/cancel", headers=alice.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert_error(await client.post(f"/api/ingestion-jobs/{job['id']}/cancel", headers=alice.headers), 409)
    assert_error(await client.get(f"/api/ingestion-jobs/{job['id']}", headers=bob.headers), 404)
    assert (await client.delete(f"/api/ingestion-jobs/{job['id']}", headers=alice.headers)).status_code == 204

    # Quota: two per user here.
    await create_db(client, alice, "second")
    error = assert_error(await client.post("/api/vector-dbs", json={"name": "third"}, headers=alice.headers), 403)
    assert error["code"] == "quota_exceeded" and "quota is 2" in str(error["message"])
    assert (await client.delete(f"/api/vector-dbs/{db['id']}", headers=alice.headers)).status_code == 204
    await create_db(client, alice, "third")


async def test_org_databases_are_shared_with_members_and_read_only_for_viewers(client: httpx.AsyncClient) -> None:
    owner = await sign_up(client, "owner@example.com")
    viewer = await sign_up(client, "viewer@example.com")
    org = (await client.post("/api/orgs", json={"name": "Acme"}, headers=owner.headers)).json()
    added = await client.post(
        f"/api/orgs/{org['id']}/members", json={"email": viewer.email, "role": "viewer"}, headers=owner.headers
    )
    assert added.status_code in (200, 201), added.text
    db = await create_db(client, owner, org_id=org["id"])
    assert db["org_id"] == org["id"] and db["owner_user_id"] is None
    assert (await client.get(f"/api/vector-dbs/{db['id']}", headers=viewer.headers)).status_code == 200
    response = await client.post(
        f"/api/vector-dbs/{db['id']}/collections", json={"name": "docs"}, headers=viewer.headers
    )
    assert_error(response, 403, "insufficient_role")
    assert_error(await client.delete(f"/api/vector-dbs/{db['id']}", headers=viewer.headers), 403)
    outsider = await sign_up(client, "outsider@example.com")
    assert_error(
        await client.post("/api/vector-dbs", json={"name": "x", "org_id": org["id"]}, headers=outsider.headers), 404
    )
