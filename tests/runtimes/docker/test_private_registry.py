"""Pulling an image source from a private registry: Debian's docker-registry on loopback with htpasswd (the engine
trusts 127.0.0.0/8 over plain HTTP). The test image is pushed there and its local tag removed, so the runtime has to
pull it: with the source's own login, with a login configured for that registry (docker.registries), and refused
with a clear reason for a wrong password or none."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import docker
import pytest

from mcphost.runtimes.base import PrepareFailed
from mcphost.runtimes.docker import DockerRuntime
from tests.builds.registry import Registry, registry
from tests.runtimes.docker.conftest import docker_settings
from tests.runtimes.docker.helpers import Client, launch, no_progress
from tests.runtimes.docker.images import STDIO_IMAGE


@pytest.fixture
def private(tmp_path: Path, docker_client: docker.DockerClient) -> Iterator[tuple[Registry, str]]:
    """The registry and the reference of the test image pushed to it (not on the engine under that name)."""
    with registry(tmp_path / "registry", tmp_path / "storage", username="robot", password="s3cret-pull") as running:
        repository = f"{running.endpoint}/private/echo-{uuid.uuid4().hex[:8]}"
        login = {"username": running.username, "password": running.password}
        docker_client.images.get(STDIO_IMAGE).tag(repository, "1")
        for message in docker_client.api.push(repository, "1", stream=True, decode=True, auth_config=login):
            assert "error" not in message, message
        docker_client.images.remove(f"{repository}:1")
        yield running, f"{repository}:1"
        for image in docker_client.images.list(name=repository):  # the pulled tag only: its id is the test image's
            for tag in image.tags:
                if tag.startswith(repository):
                    docker_client.images.remove(tag)


@pytest.fixture
async def configured(home: Path, private: tuple[Registry, str]) -> AsyncIterator[DockerRuntime]:
    """A runtime with a login configured for the registry, as an administrator would set docker.registries."""
    running, _ = private
    login = {"username": running.username, "password": running.password}
    runtime = DockerRuntime(docker_settings(home, registries={running.endpoint: login}))
    try:
        yield runtime
    finally:
        await runtime.close()


async def test_the_source_s_own_login_pulls_a_private_image_that_then_runs(
    docker_runtime: DockerRuntime, data_dir: Path, private: tuple[Registry, str]
) -> None:
    running, reference = private
    login = {"username": running.username, "password": running.password}
    lines: list[str] = []

    async def progress(line: str) -> None:
        lines.append(line)

    artifact = await docker_runtime.prepare({"type": "image", "image": reference, "registry_auth": login}, progress)
    instance = await launch(docker_runtime, data_dir, artifact=artifact)
    try:
        async with Client(instance) as client:
            assert await client.call("echo", {"text": "pulled"}) == "pulled"
    finally:
        await instance.stop(2)

    assert f"pulling {reference}" in lines
    repository = reference.rsplit(":", 1)[0]
    assert artifact.details["digest"].startswith(f"{repository}@sha256:")
    assert not any(running.password in line for line in lines)


async def test_a_login_configured_for_the_registry_is_used_when_the_source_has_none(
    configured: DockerRuntime, private: tuple[Registry, str]
) -> None:
    _, reference = private

    artifact = await configured.prepare({"type": "image", "image": reference}, no_progress)

    assert artifact.details["image"] == reference


async def test_a_wrong_password_or_none_is_refused_with_the_reason(
    docker_runtime: DockerRuntime, private: tuple[Registry, str]
) -> None:
    running, reference = private
    wrong = {"username": running.username, "password": "not-the-password"}

    with pytest.raises(PrepareFailed) as refused:
        await docker_runtime.prepare({"type": "image", "image": reference, "registry_auth": wrong}, no_progress)
    with pytest.raises(PrepareFailed) as anonymous:
        await docker_runtime.prepare({"type": "image", "image": reference}, no_progress)

    for failure in (refused.value, anonymous.value):
        message = str(failure)
        assert message.startswith(f"the image {reference} is not on this Docker engine and could not be pulled")
        assert "no basic auth credentials" in message or "unauthorized" in message.lower(), message
        assert "not-the-password" not in message
