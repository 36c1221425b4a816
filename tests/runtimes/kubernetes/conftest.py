"""Fixtures for the Kubernetes runtime's tests: a real single-node cluster on this machine (``LocalCluster``: etcd,
kube-apiserver, controller-manager, scheduler and a kubelet on the Docker engine), started once per test session on
one worker (the tests share the xdist group ``kubernetes``), a namespace per test, the MCP Host image for the stdio
bridge (scripts/build_image.sh), and the Docker runtime's test images."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from kubernetes import client, config

from mcphost.runtimes.kubernetes import KubernetesRuntime
from mcphost.settings import Settings
from tests.runtimes.docker.images import NODE_BASE, PYTHON_BASE
from tests.support.kubernetes_cluster import REPO, LocalCluster

BRIDGE_IMAGE = "mcphost:latest"
pytestmark = pytest.mark.xdist_group("kubernetes")


@pytest.fixture(scope="session")
def bridge_image(docker_client: docker.DockerClient) -> str:
    """The MCP Host image of this working tree (rebuilt in seconds when only the code changed)."""
    subprocess.run(["bash", str(REPO / "scripts" / "build_image.sh")], check=True, capture_output=True)
    return BRIDGE_IMAGE


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient) -> Iterator[LocalCluster]:
    started = LocalCluster(tmp_path_factory.mktemp("cluster"), node=True).start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def kube(cluster: LocalCluster) -> client.ApiClient:
    """An administrator's client of the test cluster (to look at what the runtime made)."""
    return config.new_client_from_config(config_file=str(cluster.kubeconfig("admin")))


@pytest.fixture
def namespace(kube: client.ApiClient) -> Iterator[str]:
    name = f"mcphost-test-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(kube).create_namespace({"metadata": {"name": name}})
    yield name
    client.CoreV1Api(kube).delete_namespace(name, propagation_policy="Background")


def kubernetes_settings(home: Path, cluster: LocalCluster, namespace: str, **options: Any) -> Settings:
    kubernetes = {
        "kubeconfig": str(cluster.kubeconfig("admin")),
        "namespace": namespace,
        "address": "pod",
        "bridge_image": BRIDGE_IMAGE,
        "start_timeout_seconds": 60,
    } | options
    runtime = {"node_name": f"test-{uuid.uuid4().hex[:10]}", "stop_grace_seconds": 2}
    builds = {"python_image": PYTHON_BASE, "node_image": NODE_BASE}
    return Settings(home=home, runtime=runtime, kubernetes=kubernetes, builds=builds)


@pytest.fixture
async def kubernetes_runtime(
    home: Path, cluster: LocalCluster, namespace: str, bridge_image: str
) -> AsyncIterator[KubernetesRuntime]:
    runtime = KubernetesRuntime(kubernetes_settings(home, cluster, namespace))
    try:
        yield runtime
    finally:
        await runtime.close()
