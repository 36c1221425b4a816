"""A vector database whose Chroma server runs in a container (``vectors.runtime = docker``) on the real engine: created
through the API, hardened like server containers, searched through the API, adopted by a supervisor that starts after
a platform died (and the leftover of a deleted database removed), and gone with its database."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
from docker.errors import DockerException, ImageNotFound
from fastapi import FastAPI

from mcphost.settings import Settings
from mcphost.vectors.container import LABEL_DB, LABEL_HOME, LABEL_NODE, chroma_version, image_tag
from mcphost.vectors.supervisor import VectorSupervisor
from tests.conftest import make_settings
from tests.runtimes.docker.images import PYTHON_BASE
from tests.support.accounts import Account, sign_up
from tests.support.waiting import eventually
from tests.vectors.support import VECTORS, create_db, db_status, finished_job

CHROMA_API = "/api/v2/tenants/default_tenant/databases/default_database/collections"


@pytest.fixture(scope="module")
def engine() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env(timeout=300)
        client.ping()
    except DockerException as exc:
        pytest.skip(f"needs a Docker engine (bash scripts/start_dockerd.sh): {exc}")
    try:
        client.images.get(PYTHON_BASE)
    except ImageNotFound:
        pytest.skip(f"needs the base images (bash scripts/docker_base_images.sh): {PYTHON_BASE} is missing")
    yield client
    client.close()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, engine: docker.DockerClient) -> Settings:
    overrides = VECTORS | {
        "vectors": VECTORS["vectors"] | {"runtime": "docker", "container_memory_mib": 768},
        "runtime": VECTORS["runtime"] | {"node_name": f"test-{uuid.uuid4().hex[:10]}"},
    }
    return make_settings(tmp_path / "home", database_url, **overrides)


def _chroma_containers(engine: docker.DockerClient, settings: Settings) -> list[dict[str, Any]]:
    node = f"{LABEL_NODE}={settings.runtime.node_name}"
    return list(engine.api.containers(all=True, filters={"label": node}))


async def _noop() -> None:
    return None


async def test_a_database_in_a_container(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    engine: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    alice: Account = await sign_up(client, "alice@example.com")
    db = await create_db(client, alice)
    db = await db_status(client, alice, db["id"], lambda d: d["status"] == "running", timeout=300, what="running")

    # One container for it, from the image built for this chromadb version, hardened like a server's.
    [listed] = _chroma_containers(engine, settings)
    inspection = engine.api.inspect_container(listed["Id"])
    config, host = inspection["Config"], inspection["HostConfig"]
    assert config["Image"] == image_tag(chroma_version())
    assert config["Labels"][LABEL_DB] == db["id"] and config["Labels"][LABEL_HOME]
    assert config["User"] == settings.docker.default_user
    assert host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"] and host["SecurityOpt"] == ["no-new-privileges"]
    assert host["Memory"] == 768 << 20 and host["PidsLimit"] == settings.vectors.container_pids_limit
    assert list(host["Tmpfs"]) == ["/tmp"]  # noqa: S108 (the container's own tmpfs)
    directory = settings.home / "vectors" / db["id"]
    assert [(m["Source"], m["Destination"], m["RW"]) for m in inspection["Mounts"]] == [
        (str(directory), "/chroma", True)
    ]
    [binding] = inspection["NetworkSettings"]["Ports"]["8000/tcp"]
    assert binding["HostIp"] == "127.0.0.1"
    port = int(binding["HostPort"])
    assert "CHROMA_SERVER_AUTHN_CREDENTIALS" not in json.dumps(config["Labels"])

    # Its token keeps anyone else out, as the process's does; with the API a collection is filled and searched.
    async with httpx.AsyncClient() as anyone:
        assert (await anyone.get(f"http://127.0.0.1:{port}{CHROMA_API}")).status_code in (401, 403)
    created = await client.post(f"/api/vector-dbs/{db['id']}/collections", json={"name": "docs"}, headers=alice.headers)
    assert created.status_code == 201, created.text
    spec = {"vector_db_id": db["id"], "collection": "docs", "sources": [{"type": "upload"}]}
    files = [
        ("files", ("bread.md", b"# Sourdough\n\nFeed the starter, let the dough rise overnight, bake.", "text/plain")),
        ("files", ("k8s.md", b"# Pods\n\nKubernetes schedules pods onto the nodes of a cluster.", "text/plain")),
    ]
    started = await client.post(
        "/api/ingestion-jobs", data={"spec": json.dumps(spec)}, files=files, headers=alice.headers
    )
    assert started.status_code == 201, started.text
    assert (await finished_job(client, alice, started.json()["id"]))["status"] == "succeeded"
    query = {"query": "baking bread at home", "k": 1}
    found = await client.post(f"/api/vector-dbs/{db['id']}/collections/docs/query", json=query, headers=alice.headers)
    assert found.status_code == 200, found.text
    assert found.json()["results"][0]["source"] == "upload/bread.md"
    assert (directory / "data" / "chroma.sqlite3").exists()  # its data is in the database's directory

    # The platform dies (its supervisor goes without stopping anything); a deleted database's container was left.
    platform = app.state.platform
    old = platform.services.get(VectorSupervisor.name)
    assert old is not None
    monkeypatch.setattr(old, "on_stop", _noop)
    await old.stop()
    for task in asyncio.all_tasks():
        if task.get_name() == f"vector-db:{db['id']}":
            task.cancel()
    leftover = engine.api.create_container(
        image_tag(chroma_version()),
        command=["true"],
        labels=dict(config["Labels"]) | {LABEL_DB: str(uuid.uuid4())},
    )

    # The next supervisor adopts the container that still answers with the token, and removes the leftover.
    caplog.set_level(logging.INFO, logger="mcphost.vectors.supervisor")
    successor = VectorSupervisor(platform)
    await successor.start()
    try:

        async def adopted() -> bool:
            return any("adopted in the container" in r.getMessage() for r in caplog.records)

        await eventually(adopted, bool, timeout=30, what="container adopted")
        assert [c["Id"] for c in _chroma_containers(engine, settings)] == [listed["Id"]]
        assert leftover["Id"] not in {c["Id"] for c in engine.api.containers(all=True)}
        db = await db_status(client, alice, db["id"], lambda d: d["status"] == "running")
        assert db["restarts"] == 0 and db["usage"]["vectors"] == 2
        found = await client.post(
            f"/api/vector-dbs/{db['id']}/collections/docs/query", json=query, headers=alice.headers
        )
        assert found.json()["results"][0]["source"] == "upload/bread.md"

        # Deleted: its container and its files go.
        assert (await client.delete(f"/api/vector-dbs/{db['id']}", headers=alice.headers)).status_code == 204
        successor.wake()

        async def gone() -> bool:
            return not _chroma_containers(engine, settings) and not directory.exists()

        await eventually(gone, bool, timeout=30, what="container and files removed")
    finally:
        await successor.stop()
        for container in _chroma_containers(engine, settings):
            engine.api.remove_container(container["Id"], force=True)
