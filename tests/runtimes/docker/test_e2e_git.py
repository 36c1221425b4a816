"""End to end from source: a git repository (a local one, over file://, which builds.allow_git_schemes allows here)
deployed through the API is cloned, built into an image and run on Docker; the user sees the build's phase as the
server's status, the build output in its logs, the build's telemetry among its usage events and the commit on its
revision; a build that fails leaves the server in error with the failing step's output."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from mcphost.settings import Settings
from tests.builds.gitrepos import make_repo
from tests.conftest import make_settings
from tests.gateway.mcp_http import McpHttp
from tests.runtimes.docker.images import FIXTURES, NODE_BASE, PYTHON_BASE
from tests.servers.hosting import QUICK, status_of
from tests.support.accounts import Account, sign_up

DOCKERFILE = f"""FROM {PYTHON_BASE}
COPY echo_server.py /app/echo_server.py
CMD ["python3", "-u", "/app/echo_server.py"]
"""


@pytest.fixture
def image_prefix(docker_client: docker.DockerClient) -> Any:
    prefix = f"mcphost-test-build-{uuid.uuid4().hex[:8]}"
    yield prefix
    for image in docker_client.images.list(name=f"{prefix}/*"):
        for tag in image.tags:
            docker_client.images.remove(tag, force=True)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, docker_client: docker.DockerClient, image_prefix: str) -> Settings:
    runtime = QUICK["runtime"] | {"node_name": f"git-{uuid.uuid4().hex[:10]}", "start_timeout_seconds": 60}
    builds = {
        "allow_git_schemes": ["file"],
        "python_image": PYTHON_BASE,
        "node_image": NODE_BASE,
        "image_prefix": image_prefix,
    }
    return make_settings(tmp_path / "home", database_url, **(QUICK | {"runtime": runtime, "builds": builds}))


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "builder@example.com")


async def _statuses_until(client: httpx.AsyncClient, owner: Account, server_id: str, timeout: float) -> list[str]:
    """Every status seen by polling until the server runs or fails (a build takes seconds: its phase is seen)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = (await client.get(f"/api/servers/{server_id}", headers=owner.headers)).json()["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in ("running", "error"):
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError(f"still not running after {timeout} s; statuses seen: {seen}")


async def test_a_repository_is_built_and_served_with_its_phases_logs_telemetry_and_commit(
    client: httpx.AsyncClient, owner: Account, tmp_path: Path
) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {"server/Dockerfile": DOCKERFILE, "server/echo_server.py": (FIXTURES / "echo_server.py").read_text()},
    )
    commit = repo.git("rev-parse", "HEAD")
    source = {"type": "git", "url": f"file://{repo.path}", "ref": "main", "subdir": "server"}
    response = await client.post("/api/servers", json={"name": "built", "source": source}, headers=owner.headers)
    assert response.status_code == 201, response.text
    server = response.json()
    assert server["runtime"] == "docker"

    seen = await _statuses_until(client, owner, server["id"], timeout=240)
    assert seen[-1] == "running", seen
    assert "building" in seen and "installing" not in seen[seen.index("building") :], seen

    session = McpHttp(client, server["slug"], server["access_key"])
    await session.initialize()
    answer = await session.call("echo", text="built from git")
    assert answer["result"]["content"][0]["text"] == "built from git"

    logs = (await client.get(f"/api/servers/{server['id']}/logs?tail=500", headers=owner.headers)).json()
    lines = "\n".join(line["line"] for line in logs)
    assert "Cleaning up" in lines and "Step 1/" in lines
    metrics = (await client.get(f"/api/servers/{server['id']}/metrics", headers=owner.headers)).json()
    assert metrics["totals"].get("build_started") == 1 and metrics["totals"].get("build_succeeded") == 1
    revisions = (await client.get(f"/api/servers/{server['id']}/revisions", headers=owner.headers)).json()
    assert revisions["items"][0]["resolved"]["commit"] == commit


async def test_a_failing_build_ends_in_error_with_the_failing_step(
    client: httpx.AsyncClient, owner: Account, tmp_path: Path
) -> None:
    broken = f"FROM {PYTHON_BASE}\nRUN echo 'compiling the server' && exit 3\n"
    repo = make_repo(tmp_path / "broken", {"Dockerfile": broken})
    source = {"type": "git", "url": f"file://{repo.path}"}
    response = await client.post("/api/servers", json={"name": "broken", "source": source}, headers=owner.headers)
    assert response.status_code == 201, response.text
    failed = await status_of(client, owner, response.json()["id"], "error", timeout=240)
    assert failed["status_reason"].startswith("build failed"), failed["status_reason"]
    assert "compiling the server" in failed["status_reason"]
    metrics = (await client.get(f"/api/servers/{failed['id']}/metrics", headers=owner.headers)).json()
    assert metrics["totals"].get("build_failed") == 1
