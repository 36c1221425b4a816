"""Fixtures for the build tests: build settings that allow file://, git:// and http:// git URLs and keep their
temporary checkouts in the test's own directory."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from mcphost.runtimes.base import reporting
from mcphost.settings import BuildSettings
from tests.builds.engine import Recorder, engine, ensure_base_images, ensure_builder, remove_images


@pytest.fixture
def workspaces(tmp_path: Path) -> Path:
    path = tmp_path / "workspaces"
    path.mkdir()
    return path


@pytest.fixture
def build_settings(workspaces: Path) -> BuildSettings:
    return BuildSettings(
        allow_git_schemes=["file", "git", "http"],
        workspace_dir=workspaces,
        clone_timeout_seconds=60,
    )


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    client = engine()
    if client is None:
        pytest.skip("no Docker engine answers (bash scripts/start_dockerd.sh starts one)")
    ensure_base_images(client)
    yield client
    client.close()


@pytest.fixture(scope="session")
def go_builder(docker_client: docker.DockerClient) -> str:
    return ensure_builder(docker_client, "mcphost-test/go:bookworm")


@pytest.fixture(scope="session")
def rust_builder(docker_client: docker.DockerClient) -> str:
    return ensure_builder(docker_client, "mcphost-test/rust:bookworm")


@pytest.fixture
def image_prefix(docker_client: docker.DockerClient, tmp_path: Path) -> Iterator[str]:
    """A local repository prefix of this test's own; its images are removed afterwards (and the untagged ones built
    from this test's repositories)."""
    prefix = f"mcphost-test-build-{uuid.uuid4().hex[:8]}"
    yield prefix
    remove_images(docker_client, prefix + "/", tmp_path.as_uri())


@pytest.fixture
def docker_settings(build_settings: BuildSettings, image_prefix: str) -> BuildSettings:
    """Build settings with the local base images (no registry to pull from here)."""
    return build_settings.model_copy(
        update={
            "image_prefix": image_prefix,
            "python_image": "mcphost-base/python:bookworm",
            "node_image": "mcphost-base/node:bookworm",
            "go_image": "mcphost-test/go:bookworm",
            "rust_image": "mcphost-test/rust:bookworm",
            "runtime_image": "mcphost-base/debian:bookworm",
            "build_timeout_seconds": 900,
        }
    )


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    record = Recorder()
    with reporting(record.reporter):
        yield record
