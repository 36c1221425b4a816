"""The objects one instance of a server is made of, as the API server takes them (plain dicts), hardened by default:

- a Deployment (one replica, ``Recreate``), or with ``kubernetes.storage: volume`` a StatefulSet whose volume claim
  is mounted at ``/data``; a Service in front of it; a Secret with its environment (and the bridge's token); with
  ``network: none`` a NetworkPolicy that denies all egress;
- the pod: non-root (the image's user unless root, else nobody), ``runAsNonRoot``, ``fsGroup``, seccomp
  ``RuntimeDefault``, no service account token, no service links, an optional RuntimeClass (gVisor, Kata) and image
  pull Secret; every container with a read-only root file system, a ``/tmp`` emptyDir, all capabilities dropped, no
  privilege escalation, CPU/memory requests and limits, ``nvidia.com/gpu`` limits;
- a stdio server's pod also runs ``mcphost bridge`` (``gateway/stdio_bridge.py``): an init container makes two FIFOs
  on an in-memory volume, the server's container runs its command under ``/bin/sh`` with stdin and stdout on them
  (``runtimes/fifo.py``), and the bridge serves them at ``/mcp`` on port 8080, ready once both are open;
- labels (server, instance, managed-by) select and find every object; owner references on the Service, Secret and
  NetworkPolicy let the cluster's garbage collector remove them with the workload.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson

from mcphost.runtimes.base import Limits, Transport
from mcphost.runtimes.fifo import STDIO_DIR, wrap_command
from mcphost.settings import KubernetesSettings

__all__ = [
    "BRIDGE_PORT",
    "LABEL_INSTANCE",
    "LABEL_SERVER",
    "MANAGED",
    "TOKEN_KEY",
    "PodPlan",
    "network_policy",
    "object_name",
    "owned_by",
    "secret",
    "service",
    "spec_hash",
    "workload",
]

LABEL_SERVER = "mcphost.org/server"
LABEL_INSTANCE = "mcphost.org/instance"
MANAGED = {"app.kubernetes.io/managed-by": "mcphost"}
HASH_ANNOTATION = "mcphost.org/spec-hash"
SLUG_ANNOTATION = "mcphost.org/slug"
BRIDGE_PORT = 8080
TOKEN_KEY = "mcphost-bridge-token"  # noqa: S105 (a key name; env names have no dashes, so it never collides)
DATA = "/data"
_DNS = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class PodPlan:
    """Everything the manifests of one instance are made from."""

    name: str
    server_id: str
    instance: str
    slug: str
    image: str
    transport: Transport
    #: The server's full command (entry point and arguments) for a stdio server; an HTTP server's override, if any.
    argv: tuple[str, ...]
    port: int
    uid: int
    gid: int
    limits: Limits
    options: KubernetesSettings
    pull_secret: str | None = None

    @property
    def stdio(self) -> bool:
        return self.transport == "stdio"

    @property
    def labels(self) -> dict[str, str]:
        return {**MANAGED, LABEL_SERVER: self.server_id, LABEL_INSTANCE: self.instance}

    @property
    def selector(self) -> dict[str, str]:
        return {LABEL_SERVER: self.server_id, LABEL_INSTANCE: self.instance}

    @property
    def listen_port(self) -> int:
        """The port the gateway connects to: the bridge's, or the HTTP server's own."""
        return BRIDGE_PORT if self.stdio else self.port


def object_name(slug: str, server_id: str, instance_key: str) -> str:
    """``mcp-<slug>-<hash of the server and instance key>``: a DNS label (at most 63 characters), stable for an
    instance, so a restarted platform finds (adopts) what it created."""
    digest = hashlib.sha256(f"{server_id}/{instance_key}".encode()).hexdigest()[:10]
    readable = _DNS.sub("-", slug.lower()).strip("-")[:40] or "server"
    return f"mcp-{readable}-{digest}"


def _metadata(plan: PodPlan, name: str | None = None) -> dict[str, Any]:
    return {
        "name": name or plan.name,
        "namespace": plan.options.namespace,
        "labels": plan.labels,
        "annotations": {SLUG_ANNOTATION: plan.slug},
    }


def _resources(plan: PodPlan) -> dict[str, Any]:
    limits: dict[str, Any] = {}
    requests: dict[str, Any] = {"cpu": plan.options.cpu_request, "memory": plan.options.memory_request}
    if plan.limits.cpu is not None:
        limits["cpu"] = requests["cpu"] = f"{int(plan.limits.cpu * 1000)}m"
    if plan.limits.memory_mib is not None:
        limits["memory"] = requests["memory"] = f"{plan.limits.memory_mib}Mi"
    if plan.limits.gpu > 0:
        limits["nvidia.com/gpu"] = str(plan.limits.gpu)
    return {"requests": requests, "limits": limits} if limits else {"requests": requests}


def _hardened(plan: PodPlan) -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": plan.uid,
        "runAsGroup": plan.gid,
        "capabilities": {"drop": ["ALL"]},
    }


def _server_container(plan: PodPlan, env_names: list[str]) -> dict[str, Any]:
    env: list[dict[str, Any]] = [{"name": "HOME", "value": DATA}, {"name": "TMPDIR", "value": "/tmp"}]  # noqa: S108 (its own emptyDir)
    if not plan.stdio:
        env.append({"name": "PORT", "value": str(plan.port)})
    env += [
        {"name": name, "valueFrom": {"secretKeyRef": {"name": plan.name, "key": name}}} for name in sorted(env_names)
    ]
    mounts: list[dict[str, Any]] = [{"name": "data", "mountPath": DATA}, {"name": "tmp", "mountPath": "/tmp"}]  # noqa: S108
    container: dict[str, Any] = {
        "name": "server",
        "image": plan.image,
        "imagePullPolicy": "IfNotPresent",
        "env": env,
        "resources": _resources(plan),
        "securityContext": _hardened(plan),
        "volumeMounts": mounts,
    }
    if plan.stdio:
        command, args = wrap_command(list(plan.argv))
        container |= {"command": command, "args": args}
        mounts.append({"name": "stdio", "mountPath": STDIO_DIR, "readOnly": True})
    else:
        if plan.argv:
            container["args"] = list(plan.argv)
        container["ports"] = [{"name": "mcp", "containerPort": plan.port}]
        container["readinessProbe"] = {"tcpSocket": {"port": plan.port}, "periodSeconds": 2}
    return container


def _bridge_containers(plan: PodPlan) -> tuple[dict[str, Any], dict[str, Any]]:
    """The init container that makes the FIFOs, and the bridge that serves them."""
    common = {
        "image": plan.options.bridge_image,
        "imagePullPolicy": "IfNotPresent",
        "securityContext": _hardened(plan),
        "resources": {"requests": {"cpu": "10m", "memory": "48Mi"}, "limits": {"memory": "256Mi"}},
    }
    init = common | {
        "name": "stdio-fifos",
        "command": ["mcphost", "bridge", "fifos", STDIO_DIR],
        "volumeMounts": [{"name": "stdio", "mountPath": STDIO_DIR}],
    }
    token = {"secretKeyRef": {"name": plan.name, "key": TOKEN_KEY}}
    bridge = common | {
        "name": "bridge",
        "command": ["mcphost", "bridge", "serve", "--dir", STDIO_DIR, "--port", str(BRIDGE_PORT)],
        "env": [
            {"name": "MCPHOST_BRIDGE_TOKEN", "valueFrom": token},
            {"name": "HOME", "value": "/tmp"},  # noqa: S108 (its own emptyDir)
        ],
        "ports": [{"name": "mcp", "containerPort": BRIDGE_PORT}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": BRIDGE_PORT}, "periodSeconds": 1},
        "volumeMounts": [
            {"name": "stdio", "mountPath": STDIO_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108
        ],
    }
    return init, bridge


def _pod_spec(plan: PodPlan, env_names: list[str]) -> dict[str, Any]:
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    if plan.options.storage == "none":
        volumes.append({"name": "data", "emptyDir": {}})
    containers = [_server_container(plan, env_names)]
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 10,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": plan.uid,
            "runAsGroup": plan.gid,
            "fsGroup": plan.gid,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": containers,
        "volumes": volumes,
    }
    if plan.stdio:
        init, bridge = _bridge_containers(plan)
        spec["initContainers"] = [init]
        containers.append(bridge)
        volumes.append({"name": "stdio", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}})
    if plan.options.service_account:
        spec["serviceAccountName"] = plan.options.service_account
    if plan.options.runtime_class:
        spec["runtimeClassName"] = plan.options.runtime_class
    if plan.pull_secret:
        spec["imagePullSecrets"] = [{"name": plan.pull_secret}]
    return spec


def workload(plan: PodPlan, env_names: list[str]) -> dict[str, Any]:
    """The Deployment (or StatefulSet) of the instance, annotated with the hash of its spec (``spec_hash``)."""
    template = {"metadata": {"labels": plan.labels}, "spec": _pod_spec(plan, env_names)}
    spec: dict[str, Any] = {"replicas": 1, "selector": {"matchLabels": plan.selector}, "template": template}
    if plan.options.storage == "volume":
        claim: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": plan.options.storage_size}},
        }
        if plan.options.storage_class:
            claim["storageClassName"] = plan.options.storage_class
        spec |= {
            "serviceName": plan.name,
            "volumeClaimTemplates": [{"metadata": {"name": "data", "labels": plan.labels}, "spec": claim}],
        }
        kind = "StatefulSet"
    else:
        spec["strategy"] = {"type": "Recreate"}
        kind = "Deployment"
    document: dict[str, Any] = {"apiVersion": "apps/v1", "kind": kind, "metadata": _metadata(plan), "spec": spec}
    document["metadata"]["annotations"][HASH_ANNOTATION] = spec_hash(document)
    return document


def spec_hash(document: dict[str, Any]) -> str:
    """What identifies a workload's wanted state (its spec), to adopt an unchanged one after a platform restart."""
    return hashlib.sha256(orjson.dumps(document["spec"], option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def owned_by(document: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    """``document`` with an owner reference to the created workload ``owner`` (its uid), for garbage collection."""
    reference = {
        "apiVersion": "apps/v1",
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "blockOwnerDeletion": False,
    }
    return document | {"metadata": document["metadata"] | {"ownerReferences": [reference]}}


def secret(plan: PodPlan, env: dict[str, str], token: str) -> dict[str, Any]:
    data = dict(env) | ({TOKEN_KEY: token} if plan.stdio else {})
    return {"apiVersion": "v1", "kind": "Secret", "metadata": _metadata(plan), "type": "Opaque", "stringData": data}


def service(plan: PodPlan) -> dict[str, Any]:
    port = {"name": "mcp", "port": plan.listen_port, "targetPort": plan.listen_port, "protocol": "TCP"}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(plan),
        "spec": {"type": "ClusterIP", "selector": plan.selector, "ports": [port]},
    }


def network_policy(plan: PodPlan) -> dict[str, Any]:
    """``network: none``: no egress at all (the gateway still reaches the pod)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(plan),
        "spec": {"podSelector": {"matchLabels": plan.selector}, "policyTypes": ["Egress"], "egress": []},
    }
