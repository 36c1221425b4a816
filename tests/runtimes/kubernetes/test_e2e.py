"""The whole story on a real single-node cluster and PostgreSQL (``make e2e-kubernetes`` runs this file): a catalog
server installed from PyPI into an image and run as a pod, answering tools through the gateway; its pod deleted
behind the platform's back, which it sees (in the server's logs), restarts and counts; stop scales it down; delete
leaves nothing in the namespace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from kubernetes import client as k8s

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.gateway.mcp_http import McpHttp
from tests.runtimes.docker.images import NODE_BASE, PYTHON_BASE
from tests.servers.hosting import QUICK, status_of
from tests.support import databases
from tests.support.accounts import Account, sign_up
from tests.support.kubernetes_cluster import LocalCluster
from tests.support.waiting import eventually

pytestmark = pytest.mark.xdist_group("kubernetes")
TIME_SERVER = {"type": "catalog", "name": "io.github.modelcontextprotocol/time"}


@pytest.fixture
async def cluster_database(postgres_server: str) -> AsyncIterator[str]:
    url = await databases.create_postgres_database(postgres_server, "kubernetes")
    yield url
    await databases.drop_postgres_database(postgres_server, url)


@pytest.fixture
def settings(
    tmp_path: Path, cluster_database: str, cluster: LocalCluster, namespace: str, bridge_image: str
) -> Settings:
    return make_settings(
        tmp_path / "home",
        cluster_database,
        **(QUICK | {"runtime": QUICK["runtime"] | {"default": "kubernetes", "start_timeout_seconds": 60}}),
        kubernetes={
            "kubeconfig": str(cluster.kubeconfig("admin")),
            "namespace": namespace,
            "address": "pod",
            "bridge_image": bridge_image,
            "start_timeout_seconds": 90,
        },
        builds={"python_image": PYTHON_BASE, "node_image": NODE_BASE},
    )


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "k8s@example.com")


def pods(kube: k8s.ApiClient, namespace: str) -> list[str]:
    return [pod.metadata.name for pod in k8s.CoreV1Api(kube).list_namespaced_pod(namespace).items]


async def test_a_catalog_server_runs_as_a_pod_behind_the_gateway(
    client: httpx.AsyncClient, owner: Account, kube: k8s.ApiClient, namespace: str
) -> None:
    created = await client.post("/api/servers", json={"name": "time", "source": TIME_SERVER}, headers=owner.headers)
    assert created.status_code == 201, created.text
    server = created.json()
    running = await status_of(client, owner, server["id"], "running", "error", timeout=300)
    assert running["status"] == "running", running["status_reason"]
    assert running["runtime"] == "kubernetes"
    key = await client.post(f"/api/servers/{server['id']}/keys", json={"name": "k8s"}, headers=owner.headers)

    mcp = McpHttp(client, server["slug"], key.json()["key"])
    init = await mcp.initialize()
    answer = await mcp.call("get_current_time", timezone="Europe/Paris")
    assert init["serverInfo"]["name"] == "mcp-time"
    assert "Europe/Paris" in answer["result"]["content"][0]["text"]
    [pod] = pods(kube, namespace)

    # the pod deleted behind the platform's back: it sees the instance end, counts a restart and serves again
    k8s.CoreV1Api(kube).delete_namespaced_pod(pod, namespace, grace_period_seconds=0)
    restarted = await eventually(
        lambda: client_get(client, owner, server["id"]),
        lambda s: s["status"] == "running" and s["restart_count"] >= 1,
        timeout=180,
        what="a restart",
    )
    assert restarted["restart_count"] >= 1
    logs = (await client.get(f"/api/servers/{server['id']}/logs", headers=owner.headers)).json()
    assert any("[kubernetes] the pod was deleted" in line["line"] for line in logs), logs
    again = McpHttp(client, server["slug"], key.json()["key"])
    await again.initialize()
    assert (
        "Europe/Paris"
        in (await again.call("get_current_time", timezone="Europe/Paris"))["result"]["content"][0]["text"]
    )

    await client.post(f"/api/servers/{server['id']}/stop", headers=owner.headers)
    await status_of(client, owner, server["id"], "stopped", timeout=60)
    assert k8s.AppsV1Api(kube).list_namespaced_deployment(namespace).items[0].spec.replicas == 0

    await client.delete(f"/api/servers/{server['id']}", headers=owner.headers)

    async def nothing_left() -> bool:
        core, apps = k8s.CoreV1Api(kube), k8s.AppsV1Api(kube)
        return not (
            apps.list_namespaced_deployment(namespace).items
            or core.list_namespaced_service(namespace).items
            or [s for s in core.list_namespaced_secret(namespace).items if s.type == "Opaque"]
            or core.list_namespaced_pod(namespace).items
        )

    await eventually(nothing_left, bool, timeout=60, what="nothing left in the namespace")


async def client_get(http: httpx.AsyncClient, owner: Account, server_id: str) -> dict[str, object]:
    return dict((await http.get(f"/api/servers/{server_id}", headers=owner.headers)).json())
