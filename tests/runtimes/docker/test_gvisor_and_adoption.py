"""gVisor for servers without a network, and containers left behind: by a failed gVisor start, or by a platform that
went away without stopping its servers."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import docker
import pytest

from mcphost.runtimes.base import Limits
from mcphost.runtimes.docker import DockerRuntime
from mcphost.runtimes.docker.adoption import kill_runsc_leftovers
from tests.runtimes.docker.conftest import containers_of, docker_settings
from tests.runtimes.docker.helpers import Client, launch
from tests.runtimes.docker.images import PYTHON_BASE, STDIO_IMAGE

STDIO = {"type": "image", "image": STDIO_IMAGE}


def _runsc_processes(container_id: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if line.startswith("runsc") and container_id in line:
                found.append(int(entry.name))
    return found


@pytest.fixture
def gvisor(docker_client: docker.DockerClient) -> None:
    if "runsc" not in (docker_client.info().get("Runtimes") or {}):
        pytest.skip("needs gVisor registered in the engine (scripts/start_dockerd.sh registers Debian's runsc)")


@pytest.mark.usefixtures("gvisor")
async def test_a_server_without_network_runs_under_gvisor(
    home: Path, data_dir: Path, docker_client: docker.DockerClient
) -> None:
    runtime = DockerRuntime(docker_settings(home, gvisor="network_none"))
    try:
        instance = await launch(runtime, data_dir, STDIO, limits=Limits(network="none"))
        attrs = docker_client.api.inspect_container(instance.container_id)
        async with Client(instance) as client:
            assert await client.call("echo", {"text": "from gVisor"}) == "from gVisor"
            kernel = await client.call("try_read", {"path": "/proc/version"})
            written = await client.call("try_write", {"path": "/data/under-gvisor"})
        with_network = await launch(runtime, data_dir, STDIO, instance_key="networked")
        networked = docker_client.api.inspect_container(with_network.container_id)
        await asyncio.gather(instance.stop(2), with_network.stop(2))
    finally:
        await runtime.close()

    assert attrs["HostConfig"]["Runtime"] == "runsc" and networked["HostConfig"]["Runtime"] == "runc"
    assert kernel.startswith("ok") and kernel != f"ok: {Path('/proc/version').read_text()[:200]}"  # gVisor's kernel
    assert written.startswith("ok") and (data_dir / "under-gvisor").exists()
    assert _runsc_processes(instance.container_id) == []


@pytest.mark.usefixtures("gvisor")
def test_runsc_processes_left_by_a_failed_start_are_killed(docker_client: docker.DockerClient) -> None:
    # Without --init, a missing program fails the start inside gVisor, which leaves its sandbox and gofer running.
    container = docker_client.api.create_container(PYTHON_BASE, command=["/nonexistent"], network_disabled=True,
        host_config=docker_client.api.create_host_config(runtime="runsc", network_mode="none"))  # fmt: skip
    container_id = container["Id"]
    try:
        with pytest.raises(docker.errors.APIError):
            docker_client.api.start(container_id)
        left = _runsc_processes(container_id)
    finally:
        docker_client.api.remove_container(container_id, force=True)

    killed = kill_runsc_leftovers([container_id])

    assert left and sorted(killed) == sorted(left)
    for _ in range(50):
        if not _runsc_processes(container_id):
            break
        os.sched_yield()
    assert _runsc_processes(container_id) == []


async def test_a_new_runtime_removes_the_containers_an_earlier_run_left(
    home: Path, data_dir: Path, docker_client: docker.DockerClient
) -> None:
    settings = docker_settings(home)
    earlier = DockerRuntime(settings)
    left = await launch(earlier, data_dir, STDIO)
    earlier.engine.close()  # the platform is gone: nothing stopped its container
    other_home = DockerRuntime(docker_settings(home.parent / "other-home"))
    kept = await launch(other_home, data_dir.parent / "other-data", STDIO)
    assert docker_client.api.inspect_container(left.container_id)["State"]["Running"]

    later = DockerRuntime(settings)
    try:
        await later.remove_leftovers()
        remaining = containers_of(docker_client, later)
        other = docker_client.api.inspect_container(kept.container_id)["State"]["Running"]
    finally:
        await later.close()
        await other_home.close()

    assert remaining == []
    assert other  # another platform's container (another home) is not touched
