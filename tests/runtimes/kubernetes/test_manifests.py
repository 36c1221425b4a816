"""The objects of an instance as the runtime writes them, without a cluster: what the cluster tests do not reach (a
StatefulSet with its volume claim, GPU limits, a RuntimeClass, a service account, the egress policy) and what must
never change silently (names, labels, the hash that decides adoption)."""

from __future__ import annotations

import uuid

from mcphost.runtimes.base import Limits
from mcphost.runtimes.kubernetes import manifests
from mcphost.runtimes.kubernetes.manifests import PodPlan
from mcphost.settings import KubernetesSettings


def plan(**changes: object) -> PodPlan:
    values: dict[str, object] = {
        "name": manifests.object_name("My_Server.v2", "7f1c", "shared"),
        "server_id": str(uuid.UUID(int=1)),
        "instance": "abc",
        "slug": "my-server",
        "image": "registry.example.com/mcp/server@sha256:" + "0" * 64,
        "transport": "stdio",
        "argv": ("python3", "-u", "/app/server.py"),
        "port": 0,
        "uid": 1000,
        "gid": 1000,
        "limits": Limits(),
        "options": KubernetesSettings(),
    }
    return PodPlan(**(values | changes))  # type: ignore[arg-type]


def test_names_are_dns_labels_stable_per_server_and_instance() -> None:
    name = manifests.object_name("My_Server.v2 with a very long name that goes on and on", "7f1c", "user-someone")

    assert name == manifests.object_name(
        "My_Server.v2 with a very long name that goes on and on", "7f1c", "user-someone"
    )
    assert name != manifests.object_name(
        "My_Server.v2 with a very long name that goes on and on", "7f1d", "user-someone"
    )
    assert len(name) <= 63 and name.startswith("mcp-my-server-v2-")
    assert all(c.isalnum() or c == "-" for c in name) and name.islower()


def test_a_volume_makes_a_stateful_set_with_its_claim_at_data() -> None:
    options = KubernetesSettings(storage="volume", storage_class="fast", storage_size="5Gi")

    workload = manifests.workload(plan(options=options), ["API_KEY"])

    assert workload["kind"] == "StatefulSet" and workload["spec"]["serviceName"] == workload["metadata"]["name"]
    [claim] = workload["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "5Gi"}},
        "storageClassName": "fast",
    }
    volumes = {volume["name"] for volume in workload["spec"]["template"]["spec"]["volumes"]}
    assert "data" not in volumes  # the claim, not an emptyDir
    server = workload["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "data", "mountPath": "/data"} in server["volumeMounts"]
    assert {
        "name": "API_KEY",
        "valueFrom": {"secretKeyRef": {"name": workload["metadata"]["name"], "key": "API_KEY"}},
    } in (server["env"])


def test_limits_gpus_runtime_class_and_service_account_reach_the_pod() -> None:
    options = KubernetesSettings(runtime_class="gvisor", service_account="mcp-servers")
    limits = Limits(cpu=1.5, memory_mib=512, gpu=2, network="none")

    http = plan(transport="streamable-http", argv=(), port=8000, limits=limits, options=options, pull_secret="regcred")
    pod = manifests.workload(http, [])["spec"]["template"]["spec"]

    [server] = pod["containers"]  # no bridge for an HTTP server
    assert server["resources"] == {
        "requests": {"cpu": "1500m", "memory": "512Mi"},
        "limits": {"cpu": "1500m", "memory": "512Mi", "nvidia.com/gpu": "2"},
    }
    assert pod["runtimeClassName"] == "gvisor" and pod["serviceAccountName"] == "mcp-servers"
    assert pod["automountServiceAccountToken"] is False and pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert {"name": "PORT", "value": "8000"} in server["env"] and "initContainers" not in pod
    policy = manifests.network_policy(http)
    assert policy["spec"] == {
        "podSelector": {"matchLabels": http.selector},
        "policyTypes": ["Egress"],
        "egress": [],
    }


def test_the_spec_hash_changes_with_the_spec_only() -> None:
    first = manifests.workload(plan(), [])
    again = manifests.workload(plan(), [])
    other_image = manifests.workload(plan(image="registry.example.com/mcp/server:2"), [])

    key = manifests.HASH_ANNOTATION
    assert first["metadata"]["annotations"][key] == again["metadata"]["annotations"][key]
    assert first["metadata"]["annotations"][key] != other_image["metadata"]["annotations"][key]


def test_the_bridge_token_is_in_the_secret_but_never_in_the_server_s_environment() -> None:
    stdio = plan()

    secret = manifests.secret(stdio, {"API_KEY": "v"}, "bridge-token-value")
    pod = manifests.workload(stdio, ["API_KEY"])["spec"]["template"]["spec"]
    server, bridge = pod["containers"]

    assert secret["stringData"] == {"API_KEY": "v", manifests.TOKEN_KEY: "bridge-token-value"}
    assert all(
        entry.get("valueFrom", {}).get("secretKeyRef", {}).get("key") != manifests.TOKEN_KEY for entry in server["env"]
    )
    assert {
        "name": "MCPHOST_BRIDGE_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": stdio.name, "key": manifests.TOKEN_KEY}},
    } in (bridge["env"])
    assert manifests.secret(plan(transport="streamable-http", port=8000), {}, "unused")["stringData"] == {}
