"""Package sources on Docker: an image per package version, built from the configured Python or Node image, reused by
every later server of that version, and run hardened like any image."""

from __future__ import annotations

import time
from pathlib import Path

import docker
import pytest

from mcphost.runtimes.base import PrepareFailed
from mcphost.runtimes.docker import DockerRuntime
from mcphost.runtimes.docker.packages import package_tag
from tests.runtimes.docker.helpers import Client, launch

TIME_SERVER = {"type": "package", "registry_type": "pypi", "identifier": "mcp-server-time", "version": "2026.10.19"}
MEMORY_SERVER = {
    "type": "package",
    "registry_type": "npm",
    "identifier": "@modelcontextprotocol/server-memory",
    "version": "2026.8.31",
}


class Lines(list[str]):
    async def __call__(self, line: str) -> None:
        self.append(line)


async def test_a_pypi_package_gets_an_image_of_its_version_and_runs(
    docker_runtime: DockerRuntime, data_dir: Path, docker_client: docker.DockerClient
) -> None:
    built = await docker_runtime.prepare(TIME_SERVER, Lines())
    again, progress = time.monotonic(), Lines()
    cached = await docker_runtime.prepare(TIME_SERVER, progress)
    seconds = time.monotonic() - again

    tag = "mcphost-pkg/pypi/mcp-server-time:2026.10.19"
    assert package_tag("pypi", "mcp_server.time", "2026.10.19") == "mcphost-pkg/pypi/mcp-server-time:2026.10.19"
    assert cached.details["cached"] is True and seconds < 5 and any("using the cached image" in x for x in progress)
    assert built.image == cached.image == docker_client.images.get(tag).id
    assert cached.details["version"] == "2026.10.19" and cached.details["program"] == "mcp-server-time"
    instance = await launch(docker_runtime, data_dir, artifact=cached)
    async with Client(instance) as client:
        answer = await client.call("get_current_time", {"timezone": "UTC"})
    await instance.stop(2)
    assert "UTC" in answer


async def test_an_npm_package_runs_in_a_node_image(docker_runtime: DockerRuntime, data_dir: Path) -> None:
    artifact = await docker_runtime.prepare(MEMORY_SERVER, Lines())

    assert artifact.argv[0] == "node" and artifact.details["version"] == "2026.8.31"
    instance = await launch(docker_runtime, data_dir, artifact=artifact)
    async with Client(instance) as client:
        tools = {tool["name"] for tool in await client.session.list_tools()}
    await instance.stop(2)
    assert "create_entities" in tools


async def test_the_newest_version_is_resolved_and_recorded(docker_runtime: DockerRuntime) -> None:
    source = {key: value for key, value in TIME_SERVER.items() if key != "version"}
    progress = Lines()

    artifact = await docker_runtime.prepare(source, progress)

    assert artifact.details["version"]  # what was looked up is what the image is tagged with
    assert artifact.details["image"] == package_tag("pypi", "mcp-server-time", artifact.details["version"])
    assert any("looking up the newest version" in line for line in progress)


async def test_a_package_that_does_not_exist_fails_with_the_installer_output(docker_runtime: DockerRuntime) -> None:
    source = {"type": "package", "registry_type": "pypi", "identifier": "mcphost-no-such-package-x", "version": "1.0"}
    with pytest.raises(PrepareFailed, match=r"installing mcphost-no-such-package-x 1\.0 failed"):
        await docker_runtime.prepare(source, Lines())
