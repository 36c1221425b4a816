"""Attached S3 storage against a real S3-compatible server (SeaweedFS, with its IAM API): each server gets a bucket
and an access key whose policy allows only that bucket; A's key cannot read B's bucket (AccessDenied); the variables
reach the server and are never returned; detaching (confirmed) removes the key, the user and the bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from mcphost.integrations.sigv4 import sign
from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.integrations.seaweed import ADMIN_KEY, ADMIN_SECRET, seaweed  # noqa: F401 (fixture)
from tests.integrations.test_services_api import _env_of
from tests.servers.hosting import QUICK, deploy
from tests.support.accounts import sign_up


@pytest.fixture
def settings(tmp_path: Path, database_url: str, seaweed: str) -> Settings:  # noqa: F811
    s3 = {"endpoint": seaweed, "access_key_id": ADMIN_KEY, "secret_access_key": ADMIN_SECRET}
    return make_settings(tmp_path / "home", database_url, integrations={"s3": s3}, **QUICK)


async def _s3(method: str, url: str, env: dict[str, str], body: bytes = b"") -> httpx.Response:
    headers = sign(
        method,
        url,
        body=body,
        headers={},
        access_key=env["AWS_ACCESS_KEY_ID"],
        secret_key=env["AWS_SECRET_ACCESS_KEY"],
        region=env["AWS_REGION"],
        service="s3",
    )
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.request(method, url, content=body, headers=headers)


async def test_bucket_per_server_with_its_own_key(app: FastAPI, client: httpx.AsyncClient, seaweed: str) -> None:  # noqa: F811
    owner = await sign_up(client, "owner@example.com")
    servers: list[dict[str, Any]] = [await deploy(client, owner, name=name) for name in ("alpha", "beta")]
    attached = [
        await client.post(f"/api/servers/{s['id']}/services", json={"kind": "s3"}, headers=owner.headers)
        for s in servers
    ]
    env_a, env_b = [await _env_of(app, s, "S3_BUCKET") for s in servers]
    a_url, b_url = f"{seaweed}/{env_a['S3_BUCKET']}", f"{seaweed}/{env_b['S3_BUCKET']}"

    assert [r.status_code for r in attached] == [201, 201], attached[0].text
    assert env_a["S3_ENDPOINT"] == seaweed and env_a["S3_BUCKET"] != env_b["S3_BUCKET"]
    assert env_a["AWS_SECRET_ACCESS_KEY"] not in attached[0].text
    assert set(attached[0].json()["env"]) >= {"S3_BUCKET", "S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert (await _s3("PUT", f"{a_url}/notes.txt", env_a, b"alpha data")).status_code == 200
    assert (await _s3("PUT", f"{b_url}/notes.txt", env_b, b"beta data")).status_code == 200
    assert (await _s3("GET", f"{a_url}/notes.txt", env_a)).content == b"alpha data"
    cross_read = await _s3("GET", f"{b_url}/notes.txt", env_a)
    cross_write = await _s3("PUT", f"{b_url}/planted.txt", env_a, b"x")
    assert cross_read.status_code == 403 and "AccessDenied" in cross_read.text
    assert cross_write.status_code == 403

    a = servers[0]
    detached = await client.delete(f"/api/servers/{a['id']}/services/s3?confirm={a['slug']}", headers=owner.headers)
    assert detached.status_code == 200, detached.text
    assert (await _s3("GET", f"{a_url}/notes.txt", env_a)).status_code == 403  # the key is gone
    admin = {"AWS_ACCESS_KEY_ID": ADMIN_KEY, "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET, "AWS_REGION": "us-east-1"}
    assert (await _s3("GET", f"{a_url}/notes.txt", admin)).status_code == 404  # and the bucket
    assert (await _s3("GET", f"{b_url}/notes.txt", env_b)).content == b"beta data"
