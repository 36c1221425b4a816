"""Fixtures every runtime backend's tests use: a fresh home, a server's data directory in it, and the Docker engine
(scripts/start_dockerd.sh) with the base images (scripts/docker_base_images.sh) and the test images built from them
(the Docker and Kubernetes runtimes' tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.runtimes.docker.images import PYTHON_BASE, build_test_images


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "home" / "servers" / "test-server" / "data"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env(timeout=300)
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.skip(f"needs a Docker engine (bash scripts/start_dockerd.sh): {exc}")
    try:
        client.images.get(PYTHON_BASE)
    except docker.errors.ImageNotFound:
        pytest.skip(f"needs the base images (bash scripts/docker_base_images.sh): {PYTHON_BASE} is missing")
    build_test_images(client)
    yield client
    client.close()
