"""Fixtures for the Docker runtime's tests: a real engine (scripts/start_dockerd.sh), the base images
(scripts/docker_base_images.sh), the test images built from them, and a runtime whose containers carry a node name of
their own (so parallel test workers never remove each other's containers)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import docker
import pytest

from mcphost.runtimes.docker import DockerRuntime
from mcphost.settings import Settings
from tests.runtimes.docker.images import NODE_BASE, PYTHON_BASE


def docker_settings(home: Path, **docker_options: Any) -> Settings:
    runtime = {"node_name": f"test-{uuid.uuid4().hex[:10]}", "stop_grace_seconds": 2}
    builds = {"python_image": PYTHON_BASE, "node_image": NODE_BASE}
    return Settings(home=home, runtime=runtime, docker=docker_options, builds=builds)


@pytest.fixture
async def docker_runtime(home: Path, docker_client: docker.DockerClient) -> AsyncIterator[DockerRuntime]:
    runtime = DockerRuntime(docker_settings(home))
    try:
        yield runtime
    finally:
        await runtime.close()


def containers_of(client: docker.DockerClient, runtime: DockerRuntime) -> list[Any]:
    return list(client.api.containers(all=True, filters={"label": f"org.mcphost.node={runtime.node}"}))
