"""The create arguments of a server's container, without an engine: what the engine is asked for."""

from __future__ import annotations

import uuid
from pathlib import Path

from mcphost.runtimes.base import Artifact, LaunchSpec, Limits
from mcphost.runtimes.docker.container_spec import plan_container
from mcphost.settings import DockerSettings


def _spec(limits: Limits, transport: str = "stdio") -> LaunchSpec:
    artifact = Artifact(image="sha256:abc", transport=transport, details={"port": 8080})  # type: ignore[arg-type]
    return LaunchSpec(uuid.uuid4(), "weather", "session:Ab/1", artifact, {"TOKEN": "x"}, Path("/srv/d"), limits)


def test_gpus_become_nvidia_device_requests_where_the_engine_has_the_runtime() -> None:
    spec = _spec(Limits(gpu=2))

    with_gpu = plan_container(spec, DockerSettings(), node="n", home="/h", user="1:1", gpu_supported=True)
    without = plan_container(spec, DockerSettings(), node="n", home="/h", user="1:1", gpu_supported=False)

    assert with_gpu.host["device_requests"] == [{"driver": "nvidia", "count": 2, "capabilities": [["gpu"]]}]
    assert "device_requests" not in without.host and without.gpu_unavailable
    assert with_gpu.labels["org.mcphost.gpu"] == without.labels["org.mcphost.gpu"] == "2"


def test_gvisor_only_for_servers_without_network_and_names_within_docker_rules() -> None:
    settings = DockerSettings(gvisor="network_none")

    cut_off = plan_container(
        _spec(Limits(network="none")), settings, node="n", home="/h", user="1:1", gpu_supported=False
    )
    connected = plan_container(_spec(Limits()), settings, node="n", home="/h", user="1:1", gpu_supported=False)
    http = plan_container(
        _spec(Limits(), "streamable-http"), settings, node="n", home="/h", user="1:1", gpu_supported=False
    )

    assert cut_off.host["runtime"] == "runsc" and cut_off.host["network_mode"] == "none"
    assert "runtime" not in connected.host and connected.host["network_mode"] == "mcphost"
    assert cut_off.name.startswith("mcphost-weather-session-Ab-1-") and cut_off.stdin and not http.stdin
    assert http.environment["PORT"] == "8080" and "PORT" not in connected.environment
    assert cut_off.labels["org.mcphost.instance"] == "session:Ab/1"
