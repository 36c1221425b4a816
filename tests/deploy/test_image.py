"""The MCP Host image (deploy/Dockerfile), built from the working tree by scripts/build_image.sh on the local Docker
engine: `mcphost` is its entry point, it runs as an unprivileged user, and it serves under the constraints the
Kubernetes manifests put on it (read-only root, no capabilities, writable home and /tmp only)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from mcphost import __version__

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "mcphost-base/python:bookworm"
IMAGE = f"mcphost:{__version__}"
#: What deploy/kubernetes/ puts on MCP Host's containers, in `docker run` terms.
POD_CONSTRAINTS = (
    "--read-only",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
    "--tmpfs=/home/mcphost:uid=10001,gid=10001,mode=0700",
    "--tmpfs=/tmp",
)


def docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def image() -> str:
    if shutil.which("docker") is None or docker("info").returncode != 0:
        pytest.skip("needs a Docker engine (bash scripts/start_dockerd.sh)")
    if docker("image", "inspect", BASE_IMAGE).returncode != 0:
        pytest.skip(f"needs the base images (bash scripts/docker_base_images.sh): {BASE_IMAGE} is missing")
    # The first build installs the dependencies from PyPI (minutes); later ones reuse that layer.
    done = subprocess.run(
        ["bash", "scripts/build_image.sh"], cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False
    )
    assert done.returncode == 0, f"scripts/build_image.sh failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return IMAGE


def test_the_build_tags_the_version_and_latest_with_mcphost_as_entry_point(image: str) -> None:
    found = json.loads(docker("image", "inspect", image, "mcphost:latest").stdout)
    assert found[0]["Id"] == found[1]["Id"]
    settings = found[0]["Config"]
    assert settings["Entrypoint"] == ["mcphost"]
    assert settings["User"] == "10001:10001"
    assert settings["Labels"]["org.opencontainers.image.version"] == __version__


def test_mcphost_runs_in_it_as_its_non_root_user(image: str) -> None:
    version = docker("run", "--rm", *POD_CONSTRAINTS, image, "version")
    assert (version.returncode, version.stdout.strip()) == (0, __version__), version.stderr
    identity = docker("run", "--rm", "--entrypoint", "id", image)
    assert identity.stdout.strip() == "uid=10001(mcphost) gid=10001(mcphost) groups=10001(mcphost)"
    helped = docker("run", "--rm", *POD_CONSTRAINTS, image, "up", "--help")
    assert helped.returncode == 0, helped.stderr
    for option in ("--host", "--port", "--no-services"):
        assert option in helped.stdout


def test_it_serves_health_and_readiness_with_a_read_only_root(image: str) -> None:
    name = f"mcphost-image-test-{uuid.uuid4().hex[:8]}"
    serve = ["up", "--host", "0.0.0.0", "--port", "8700", "--no-services"]  # noqa: S104 (the pod's command)
    started = docker(
        "run", "--detach", "--name", name, *POD_CONSTRAINTS, "--env", "MCPHOST_SECRET_KEY=" + "k" * 48, image, *serve
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        ask = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"
        deadline = time.monotonic() + 90
        while True:
            ready = docker("exec", name, "python", "-c", ask, "http://127.0.0.1:8700/readyz")
            if ready.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(1)
        logs = docker("logs", name).stderr[-3000:]
        assert ready.returncode == 0, f"/readyz never answered:\n{ready.stderr[-1000:]}\n{logs}"
        assert json.loads(ready.stdout)["checks"] == {"database": "ok", "migrations": "ok"}
        alive = docker("exec", name, "python", "-c", ask, "http://127.0.0.1:8700/healthz")
        assert json.loads(alive.stdout) == {"status": "ok", "version": __version__}
    finally:
        docker("rm", "--force", name)
