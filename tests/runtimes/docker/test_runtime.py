# ruff: noqa: S108 -- /tmp here is the container's own tmpfs
"""The Docker runtime on a real engine: stdio and streamable-http servers in containers, their data, environment,
hardening, networks and removal."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import docker
import pytest

from mcphost.runtimes.base import Limits, PrepareFailed, StartFailed
from mcphost.runtimes.docker import DockerRuntime
from tests.runtimes.docker.conftest import containers_of, docker_settings
from tests.runtimes.docker.helpers import Client, launch, no_progress
from tests.runtimes.docker.images import HTTP_IMAGE, SHELLLESS_IMAGE, STDIO_IMAGE

STDIO = {"type": "image", "image": STDIO_IMAGE}
HTTP = {"type": "image", "image": HTTP_IMAGE, "transport": "streamable-http"}


@pytest.mark.parametrize("channel", ["fifo", "attach"])
async def test_a_stdio_server_answers_over_fifos_or_the_attach_socket(
    channel: str, home: Path, docker_client: docker.DockerClient, data_dir: Path
) -> None:
    runtime = DockerRuntime(docker_settings(home, stdio_channel=channel))
    try:
        instance = await launch(runtime, data_dir, STDIO)
        attrs = docker_client.api.inspect_container(instance.container_id)
        async with Client(instance) as client:
            tools = await client.session.list_tools()
            assert await client.call("echo", {"text": f"over {channel}"}) == f"over {channel}"
            assert await client.call("add", {"a": 2, "b": 3}) == "5"

        assert {"echo", "add", "whoami"} <= {tool["name"] for tool in tools}
        logs = []
        async for line in instance.log_lines():
            logs.append(line)
            if "fixture: ready" in line:
                break
        assert "fixture: ready" in logs  # stderr reaches the logs, never the MCP channel
        assert await instance.stop(2) == 0  # end of input: the server leaves on its own
    finally:
        await runtime.close()

    mounts = {mount["Destination"]: mount for mount in attrs["Mounts"]}
    if channel == "fifo":
        # the image's shell execs the server with its stdin and stdout on the FIFOs, mounted read-only
        assert attrs["Config"]["Entrypoint"][:2] == ["/bin/sh", "-c"] and not attrs["Config"]["OpenStdin"]
        assert attrs["Config"]["Cmd"] == ["python3", "-u", "/app/echo_server.py"]
        assert mounts["/run/mcphost-stdio"]["RW"] is False
    else:
        assert attrs["Config"]["OpenStdin"] and "/run/mcphost-stdio" not in mounts
    assert not list((home / "run" / "docker-stdio").glob("*"))  # the FIFOs went with the container


async def test_an_image_without_a_shell_speaks_over_the_attach_socket(
    docker_runtime: DockerRuntime, data_dir: Path, docker_client: docker.DockerClient
) -> None:
    artifact = await docker_runtime.prepare({"type": "image", "image": SHELLLESS_IMAGE}, no_progress)
    instance = await launch(docker_runtime, data_dir, artifact=artifact)
    async with Client(instance) as client:
        assert await client.call("echo", {"text": "no shell"}) == "no shell"
    attrs = docker_client.api.inspect_container(instance.container_id)
    await instance.stop(2)

    assert artifact.details["shell"] is False
    assert attrs["Config"]["OpenStdin"] and attrs["Config"]["Entrypoint"] == ["python3", "-u"]


async def test_prepare_records_the_digest_and_the_user(docker_runtime: DockerRuntime) -> None:
    stdio = await docker_runtime.prepare(STDIO, no_progress)
    http = await docker_runtime.prepare(HTTP, no_progress)

    assert stdio.details["digest"].startswith("sha256:") and stdio.image == stdio.details["image_id"]
    assert stdio.details["user"] == "65534:65534"  # no USER in the image: nobody
    assert http.details["user"] == "1234:1234"  # USER app, read from the image's /etc/passwd
    assert http.details["port"] == 8080  # from EXPOSE


async def test_a_streamable_http_server_answers_at_its_container_address(
    docker_runtime: DockerRuntime, data_dir: Path
) -> None:
    instance = await launch(docker_runtime, data_dir, HTTP)

    assert instance.url is not None and instance.url.endswith(":8080/mcp")
    assert not instance.url.startswith("http://127.")  # not published on the host: the bridge address
    async with Client(instance) as client:
        assert await client.call("echo", {"text": "over http"}) == "over http"
        me = await client.whoami()
    assert me["uid"] == 1234 and me["env"]["PORT"] == "8080"
    await instance.stop(2)


async def test_data_persists_and_values_stay_out_of_labels_and_command(
    docker_runtime: DockerRuntime, data_dir: Path, docker_client: docker.DockerClient
) -> None:
    env = {"CFG_COLOUR": "blue", "API_TOKEN": "s3cret-value-42"}
    first = await launch(docker_runtime, data_dir, STDIO, env=env)
    async with Client(first) as client:
        written = await client.call("try_write", {"path": "/data/notes.txt"})
        me = await client.whoami()
        attrs = docker_client.api.inspect_container(first.container_id)
    await first.stop(2)

    assert written.startswith("ok") and (data_dir / "notes.txt").read_text() == "written by the fixture"
    assert me["env"]["API_TOKEN"] == "s3cret-value-42" and me["env"]["CFG_COLOUR"] == "blue"
    assert me["uid"] == 65534 and me["env"]["HOME"] == "/data"
    config = attrs["Config"]
    shown = json.dumps([config["Labels"], config["Cmd"], config["Entrypoint"], attrs["Args"], attrs["Name"]])
    assert "s3cret-value-42" not in shown and "blue" not in shown
    assert config["Labels"]["org.mcphost.instance"] == "shared"

    second = await launch(docker_runtime, data_dir, STDIO)
    async with Client(second) as client:
        assert "notes.txt" in (await client.whoami())["data"]
    await second.stop(2)


async def test_hardened_by_default(
    docker_runtime: DockerRuntime, data_dir: Path, docker_client: docker.DockerClient
) -> None:
    instance = await launch(docker_runtime, data_dir, STDIO, limits=Limits(cpu=0.5, memory_mib=256))
    attrs = docker_client.api.inspect_container(instance.container_id)
    async with Client(instance) as client:
        root = await client.call("try_write", {"path": "/usr/local/evil"})
        tmp = await client.call("try_write", {"path": "/tmp/scratch"})
    await instance.stop(2)

    host = attrs["HostConfig"]
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert host["ReadonlyRootfs"] is True and "no-new-privileges" in host["SecurityOpt"]
    assert host["PidsLimit"] == 256 and host["Init"] is True and host["Privileged"] is False
    assert host["NanoCpus"] == 500_000_000 and host["Memory"] == 256 * 2**20 and host["MemorySwap"] == 256 * 2**20
    assert "size=64m" in host["Tmpfs"]["/tmp"] and host["AutoRemove"] is False
    assert host["NetworkMode"] == "mcphost" and host["LogConfig"]["Type"] == "none"
    assert attrs["Config"]["User"] == "65534:65534"
    assert root.startswith("denied") and tmp.startswith("ok")


async def test_gpu_requests_are_recorded_and_reported(
    docker_runtime: DockerRuntime, data_dir: Path, docker_client: docker.DockerClient
) -> None:
    limits = Limits(gpu=1)
    instance = await launch(docker_runtime, data_dir, STDIO, limits=limits)
    attrs = docker_client.api.inspect_container(instance.container_id)
    await instance.stop(0)

    assert attrs["Config"]["Labels"]["org.mcphost.gpu"] == "1"
    assert any("GPU: 1 requested" in warning for warning in docker_runtime.warnings_for(limits))


async def test_network_none_leaves_only_loopback(docker_runtime: DockerRuntime, data_dir: Path) -> None:
    cut_off = await launch(docker_runtime, data_dir, STDIO, limits=Limits(network="none"))
    connected = await launch(docker_runtime, data_dir, STDIO, instance_key="other")
    seen = {}
    for name, instance in (("none", cut_off), ("default", connected)):
        async with Client(instance) as client:
            seen[name] = [
                await client.call("try_read", {"path": "/sys/class/net/lo/address"}),
                await client.call("try_read", {"path": "/sys/class/net/eth0/address"}),
                await client.call("try_read", {"path": "/proc/net/route"}),
            ]
        await instance.stop(0)

    lo, eth0, routes = seen["none"]
    assert lo.startswith("ok") and eth0.startswith("denied") and len(routes.splitlines()) == 1  # the header only
    lo, eth0, routes = seen["default"]
    assert lo.startswith("ok") and eth0.startswith("ok") and "eth0" in routes


async def test_http_servers_cannot_have_network_none(docker_runtime: DockerRuntime, data_dir: Path) -> None:
    with pytest.raises(StartFailed, match="network: none"):
        await launch(docker_runtime, data_dir, HTTP, limits=Limits(network="none"))


async def test_a_container_cannot_reach_a_host_service_on_the_gateway(
    docker_runtime: DockerRuntime, data_dir: Path, docker_client: docker.DockerClient
) -> None:
    accepted: list[str] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(str(writer.get_extra_info("peername")))
        writer.close()

    server = await asyncio.start_server(on_connect, "0.0.0.0", 0)  # noqa: S104 (what a careless host service does)
    port = server.sockets[0].getsockname()[1]
    try:
        instance = await launch(docker_runtime, data_dir, STDIO)
        gateway = docker_client.api.inspect_network("mcphost")["IPAM"]["Config"][0]["Gateway"]
        host_address = _host_address()
        async with Client(instance) as client:
            via_gateway = await client.call("try_connect", {"host": gateway, "port": port})
            via_host = await client.call("try_connect", {"host": host_address, "port": port})
        await instance.stop(0)
        # the service answers from this host: only the containers are kept out
        _, writer = await asyncio.open_connection(gateway, port)
        writer.close()
    finally:
        server.close()

    assert via_gateway.startswith("denied") and via_host.startswith("denied"), (via_gateway, via_host)
    assert len(accepted) == 1
    assert docker_runtime.warnings == []


async def test_stop_removes_the_container_and_a_crash_reports_its_code(
    docker_runtime: DockerRuntime, data_dir: Path, docker_client: docker.DockerClient
) -> None:
    crashing = await launch(docker_runtime, data_dir, STDIO)
    async with Client(crashing) as client:
        with pytest.raises(Exception):  # noqa: B017,PT011 (the connection closes under the call)
            await client.call("crash")
    assert await asyncio.wait_for(crashing.wait(), 20) == 9
    stopped = await launch(docker_runtime, data_dir, STDIO)
    await asyncio.sleep(0.5)
    code = await stopped.stop(0)

    assert code in (0, -15, -9)
    assert containers_of(docker_client, docker_runtime) == []


async def test_a_server_that_ignores_its_input_ending_is_stopped(
    docker_runtime: DockerRuntime, data_dir: Path, docker_client: docker.DockerClient
) -> None:
    source = STDIO | {"command": ["python3", "-c", "import time; time.sleep(600)"]}
    instance = await launch(docker_runtime, data_dir, source)
    await asyncio.sleep(0.5)

    code = await asyncio.wait_for(instance.stop(2), 30)

    assert code in (-15, -9)
    assert containers_of(docker_client, docker_runtime) == []


async def test_unknown_image_fails_to_prepare_with_a_clear_message(docker_runtime: DockerRuntime) -> None:
    with pytest.raises(
        PrepareFailed,
        match=r"mcphost-test/no-such-image:1 is not on this Docker engine and could not be pulled: pulling",
    ):
        await docker_runtime.prepare({"type": "image", "image": "mcphost-test/no-such-image:1"}, no_progress)


async def test_an_http_image_without_a_port_is_refused(docker_runtime: DockerRuntime) -> None:
    with pytest.raises(PrepareFailed, match="exposes no port"):
        await docker_runtime.prepare(STDIO | {"transport": "streamable-http"}, no_progress)


def _host_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.200", 9))  # no packet is sent: this picks the outgoing interface's address
        return str(probe.getsockname()[0])
