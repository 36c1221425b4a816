"""The Kubernetes runtime on a real single-node cluster (``LocalCluster``): servers from images as pods, stdio ones
behind the bridge in their pod, hardened manifests, logs, exits, scale-down on stop, adoption, removal on delete,
and the failures users must be told about in words."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml
from kubernetes import client
from pydantic import SecretStr

from mcphost.runtimes.base import Artifact, Limits, PrepareFailed, StartFailed
from mcphost.runtimes.kubernetes import KubernetesRuntime
from mcphost.runtimes.kubernetes.instance import KubernetesInstance
from tests.builds.gitrepos import make_repo
from tests.builds.registry import registry
from tests.runtimes.docker.helpers import Client, no_progress, start_instance
from tests.runtimes.docker.images import FIXTURES, HTTP_IMAGE, PYTHON_BASE, STDIO_IMAGE
from tests.runtimes.kubernetes.conftest import kubernetes_settings
from tests.support.kubernetes_cluster import LocalCluster
from tests.support.waiting import eventually

pytestmark = pytest.mark.xdist_group("kubernetes")

RBAC = Path(__file__).resolve().parents[3] / "deploy" / "kubernetes" / "base" / "rbac.yaml"
STDIO = {"type": "image", "image": STDIO_IMAGE}
HTTP = {"type": "image", "image": HTTP_IMAGE, "transport": "streamable-http"}
TIMEOUT = 90.0
SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


async def launch(
    runtime: KubernetesRuntime, data_dir: Path, source: dict[str, Any] | None = None, **options: Any
) -> KubernetesInstance:
    instance = await start_instance(runtime, data_dir, source, timeout=TIMEOUT, **options)
    assert isinstance(instance, KubernetesInstance)
    return instance


async def why_it_ends(runtime: KubernetesRuntime, data_dir: Path, source: dict[str, Any], **options: Any) -> str:
    """A server that cannot run: the start's failure, or its exit's reason when its pod was ready first (the bridge is
    ready once the server's shell opened the pipes, before the server itself runs)."""
    try:
        instance = await launch(runtime, data_dir, source, **options)
    except StartFailed as failed:
        return str(failed)
    await asyncio.wait_for(instance.wait(), 60)
    return instance.exit_reason or ""


async def pods_of(kube: client.ApiClient, namespace: str) -> list[str]:
    return objects(kube, namespace)["pods"]


def objects(kube: client.ApiClient, namespace: str) -> dict[str, list[str]]:
    core, apps = client.CoreV1Api(kube), client.AppsV1Api(kube)
    found = {
        "deployments": apps.list_namespaced_deployment(namespace).items,
        "services": core.list_namespaced_service(namespace).items,
        "secrets": [s for s in core.list_namespaced_secret(namespace).items if s.type == "Opaque"],
        "pods": core.list_namespaced_pod(namespace).items,
    }
    return {kind: sorted(item.metadata.name for item in items) for kind, items in found.items()}


async def test_a_stdio_server_answers_from_its_pod_through_the_bridge(
    kubernetes_runtime: KubernetesRuntime, kube: client.ApiClient, namespace: str, data_dir: Path
) -> None:
    server_id = uuid.uuid4()
    instance = await launch(kubernetes_runtime, data_dir, STDIO, server_id=server_id, env={"GREETING": "hello"})
    async with Client(instance) as mcp:
        assert await mcp.call("echo", {"text": "from a pod"}) == "from a pod"
        assert await mcp.call("add", {"a": 2, "b": 40}) == "42"
        seen = await mcp.whoami()
    lines = []
    async for line in instance.log_lines():
        lines.append(line)
        if "fixture: ready" in line:
            break

    deployment = client.AppsV1Api(kube).read_namespaced_deployment(instance.id, namespace)
    pod = deployment.spec.template.spec
    server, bridge = pod.containers
    assert seen["env"]["GREETING"] == "hello" and "MCPHOST_BRIDGE_TOKEN" not in seen["env"]
    assert seen["uid"] == 65534  # the image names no user: nobody, never root
    assert "fixture: ready" in lines[-1]  # the server's stderr, streamed from the API server
    assert pod.automount_service_account_token is False and pod.security_context.run_as_non_root
    assert pod.security_context.seccomp_profile.type == "RuntimeDefault"
    for container in (server, bridge):
        context = container.security_context
        assert context.read_only_root_filesystem and not context.allow_privilege_escalation
        assert context.capabilities.drop == ["ALL"]
    assert server.command[:2] == ["/bin/sh", "-c"] and server.args == ["python3", "-u", "/app/echo_server.py"]
    assert instance.url is not None and instance.url.endswith(":8080/mcp")
    # the bridge refuses a caller without the pod's token
    async with Client(instance) as stranger:
        stranger.connection._headers = {}
        with pytest.raises(Exception):  # noqa: B017,PT011 (401 from the bridge)
            await stranger.call("echo", {"text": "x"})

    assert await instance.stop(2) == 0
    assert client.AppsV1Api(kube).read_namespaced_deployment(instance.id, namespace).spec.replicas == 0
    await eventually(lambda: pods_of(kube, namespace), lambda found: found == [], timeout=30, what="scaled to zero")
    await kubernetes_runtime.forget(str(server_id))
    remaining = objects(kube, namespace)
    assert remaining["deployments"] == [] and remaining["services"] == [] and remaining["secrets"] == []


async def test_an_http_server_runs_as_its_image_user_and_is_adopted_after_a_restart(
    home: Path, cluster: LocalCluster, namespace: str, bridge_image: str, kube: client.ApiClient, data_dir: Path
) -> None:
    settings = kubernetes_settings(home, cluster, namespace)
    first = KubernetesRuntime(settings)
    server_id = uuid.uuid4()
    try:
        instance = await launch(first, data_dir, HTTP, server_id=server_id, limits=Limits(cpu=0.5, memory_mib=128))
        async with Client(instance) as mcp:
            assert (await mcp.whoami())["uid"] == 1234
        pod_before = objects(kube, namespace)["pods"]
    finally:
        await first.close()  # the platform goes away; its pod stays
    second = KubernetesRuntime(settings)
    try:
        adopted = await launch(second, data_dir, HTTP, server_id=server_id, limits=Limits(cpu=0.5, memory_mib=128))
        async with Client(adopted) as mcp:
            assert await mcp.call("echo", {"text": "adopted"}) == "adopted"
        assert objects(kube, namespace)["pods"] == pod_before  # the same pod: not restarted
        container = client.AppsV1Api(kube).read_namespaced_deployment(adopted.id, namespace)
        resources = container.spec.template.spec.containers[0].resources
        assert resources.limits == {"cpu": "500m", "memory": "128Mi"}
        await second.forget(str(server_id))
    finally:
        await second.close()


async def test_a_crash_ends_the_instance_with_its_code_and_reason(
    kubernetes_runtime: KubernetesRuntime, data_dir: Path
) -> None:
    instance = await launch(kubernetes_runtime, data_dir, STDIO)
    async with Client(instance) as mcp:
        with pytest.raises(Exception):  # noqa: B017,PT011 (the connection breaks under the call)
            await mcp.call("crash")
        assert await asyncio.wait_for(instance.wait(), 30) == 9
    assert instance.exit_reason is not None and "exited with code 9" in instance.exit_reason


async def test_start_failures_say_what_went_wrong(
    kubernetes_runtime: KubernetesRuntime, kube: client.ApiClient, namespace: str, data_dir: Path
) -> None:
    # An image only the cluster would pull (its name resolves nowhere): the kubelet's pull fails.
    absent = Artifact(argv=("server",), image="registry.invalid/none:1", details={"image": "registry.invalid/none:1"})
    with pytest.raises(StartFailed, match=r"registry.invalid/none:1 cannot be pulled"):
        await launch(kubernetes_runtime, data_dir, artifact=absent)
    exits = STDIO | {"command": ["python3", "-c", "import sys; sys.exit(3)"]}
    assert "exited with code 3" in await why_it_ends(kubernetes_runtime, data_dir, exits)
    hungry = STDIO | {"command": ["python3", "-c", "import time; x = bytearray(256 << 20); time.sleep(60)"]}
    oom = await why_it_ends(kubernetes_runtime, data_dir, hungry, limits=Limits(memory_mib=64), instance_key="user-oom")
    assert "more memory than its limit (OOMKilled, exit 137)" in oom
    client.CoreV1Api(kube).create_namespaced_resource_quota(
        namespace, {"metadata": {"name": "no-pods"}, "spec": {"hard": {"pods": "0"}}}
    )
    with pytest.raises(StartFailed, match=r"exceeded quota"):
        await launch(kubernetes_runtime, data_dir, STDIO, instance_key="user-quota")


async def test_the_cluster_refusing_or_missing_is_a_clear_problem(
    home: Path, cluster: LocalCluster, namespace: str, data_dir: Path
) -> None:
    limited = KubernetesRuntime(
        kubernetes_settings(home, cluster, namespace, kubeconfig=str(cluster.kubeconfig("limited")))
    )
    missing = KubernetesRuntime(kubernetes_settings(home, cluster, "no-such-namespace"))
    unreachable_config = home / "unreachable.kubeconfig"
    home.mkdir(parents=True, exist_ok=True)
    unreachable_config.write_text(cluster.kubeconfig("admin").read_text().replace(cluster.url, "https://127.0.0.1:9"))
    unreachable = KubernetesRuntime(kubernetes_settings(home, cluster, namespace, kubeconfig=str(unreachable_config)))
    try:
        assert "forbidden" in (limited.problem() or "")
        assert "does not exist" in (missing.problem() or "")
        assert "does not answer" in (unreachable.problem() or "")
        with pytest.raises(PrepareFailed, match="forbidden"):
            await limited.prepare(STDIO, no_progress)
    finally:
        for runtime in (limited, missing, unreachable):
            await runtime.close()


async def test_the_deployed_role_is_all_the_runtime_needs(
    home: Path, cluster: LocalCluster, namespace: str, bridge_image: str, kube: client.ApiClient, data_dir: Path
) -> None:
    """deploy/kubernetes/base/rbac.yaml's Role, bound to a user with no other rights, runs a server from start to
    removal: the API server itself checks every call the runtime makes."""
    role = next(doc for doc in yaml.safe_load_all(RBAC.read_text()) if doc["kind"] == "Role")
    role["metadata"]["namespace"] = namespace
    client.RbacAuthorizationV1Api(kube).create_namespaced_role(namespace, role)
    binding = {
        "metadata": {"name": "limited-runtime", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "limited"}],
    }
    client.RbacAuthorizationV1Api(kube).create_namespaced_role_binding(namespace, binding)
    runtime = KubernetesRuntime(
        kubernetes_settings(home, cluster, namespace, kubeconfig=str(cluster.kubeconfig("limited")))
    )
    server_id = uuid.uuid4()
    try:
        assert runtime.problem() is None
        instance = await launch(runtime, data_dir, STDIO, server_id=server_id, limits=Limits(network="none"))
        async with Client(instance) as mcp:
            assert await mcp.call("echo", {"text": "least privilege"}) == "least privilege"
        async for line in instance.log_lines():
            if "fixture: ready" in line:
                break
        assert await instance.stop(2) == 0
        await eventually(lambda: pods_of(kube, namespace), lambda found: found == [], timeout=30, what="scaled to zero")
        await runtime.forget(str(server_id))
    finally:
        await runtime.close()
    remaining = objects(kube, namespace)
    assert remaining["deployments"] == [] and remaining["services"] == [] and remaining["secrets"] == []


async def test_a_git_build_is_pushed_and_pulled_by_the_cluster_with_the_registry_login(
    home: Path,
    tmp_path: Path,
    cluster: LocalCluster,
    namespace: str,
    bridge_image: str,
    kube: client.ApiClient,
    docker_client: docker.DockerClient,
    data_dir: Path,
) -> None:
    """A git source is built on the Docker engine and pushed to builds.registry (htpasswd); the image leaves the
    engine, so the kubelet must pull it, with the image pull Secret the runtime keeps from that login."""
    repo = make_repo(
        tmp_path / "repo",
        {
            "Dockerfile": f"FROM {PYTHON_BASE}\nCOPY echo_server.py /app/\n"
            + 'CMD ["python3", "-u", "/app/echo_server.py"]\n',
            "echo_server.py": (FIXTURES / "echo_server.py").read_text(),
        },
    )
    with registry(tmp_path / "registry", tmp_path / "storage", username="puller", password="pull-s3cret") as running:
        settings = kubernetes_settings(home, cluster, namespace)
        settings.builds.allow_git_schemes = ["file"]
        settings.builds.registry.endpoint = running.endpoint
        settings.builds.registry.namespace = f"k8s-{uuid.uuid4().hex[:6]}"
        settings.builds.registry.username = running.username
        settings.builds.registry.password = SecretStr(running.password)
        runtime = KubernetesRuntime(settings)
        try:
            artifact = await runtime.prepare({"type": "git", "url": repo.url}, no_progress)
            assert artifact.image is not None and artifact.image.startswith(f"{running.endpoint}/")
            docker_client.images.remove(docker_client.images.get(artifact.image).id, force=True)  # every tag of it
            instance = await launch(runtime, data_dir, artifact=artifact)
            async with Client(instance) as mcp:
                assert await mcp.call("echo", {"text": "pulled by the kubelet"}) == "pulled by the kubelet"
            pull_secret = client.CoreV1Api(kube).read_namespaced_secret("mcphost-registry", namespace)
            assert pull_secret.type == "kubernetes.io/dockerconfigjson"
            await instance.stop(2)
        finally:
            await runtime.close()


async def test_a_hostile_server_in_a_pod_meets_walls(
    kubernetes_runtime: KubernetesRuntime, cluster: LocalCluster, kube: client.ApiClient, namespace: str, data_dir: Path
) -> None:
    """What hostile code would try from its pod: root, the image's files, the platform's files and key, a service
    account token, the API server on the host's loopback (through the pod's loopback and through the bridge network's
    gateway), and leaving something behind after a stop. A fork storm is bounded by the cluster's kubelet
    (--pod-max-pids), not by the runtime: the server's warnings say so."""
    instance = await launch(kubernetes_runtime, data_dir, STDIO, limits=Limits(network="none"))
    api_port = str(cluster.api_port)
    async with Client(instance) as mcp:
        seen = await mcp.whoami()
        attempts = {
            "root file system": await mcp.call("try_write", {"path": "/usr/local/evil"}),
            "platform key": await mcp.call("try_read", {"path": str(kubernetes_runtime.settings.home / "secret.key")}),
            "service account token": await mcp.call("try_read", {"path": SERVICE_ACCOUNT_TOKEN}),
            "api via loopback": await mcp.call("try_connect", {"host": "127.0.0.1", "port": api_port}),
            "api via host": await mcp.call("try_connect", {"host": "172.17.0.1", "port": api_port}),
        }
        tmp = await mcp.call("try_write", {"path": "/tmp/scratch"})  # noqa: S108 (the pod's own emptyDir)
    await instance.stop(2)

    assert seen["uid"] != 0  # the API server's address is in every pod's env; no token to use it with is
    assert all(result.startswith("denied") for result in attempts.values()), attempts
    assert tmp.startswith("ok")  # its own scratch space only
    policy = client.NetworkingV1Api(kube).read_namespaced_network_policy(instance.id, namespace)
    assert policy.spec.policy_types == ["Egress"] and not policy.spec.egress
    assert "--pod-max-pids" in " ".join(kubernetes_runtime.warnings_for(Limits()))
    await eventually(lambda: pods_of(kube, namespace), lambda found: found == [], timeout=30, what="nothing running")
