"""The Kubernetes runtime: hosted servers as pods in a namespace of a cluster MCP Host can reach."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class KubernetesSettings(BaseModel):
    """Each instance of a server is a Deployment (or a StatefulSet with a volume claim at /data) and a Service in one
    namespace. stdio servers run beside ``mcphost bridge`` (from ``bridge_image``) in their pod, which serves them
    over Streamable HTTP; the gateway reaches every pod over HTTP."""

    kubeconfig: str | None = Field(
        None,
        description="A kubeconfig file. Default: the in-cluster service account when MCP Host runs in a pod, else "
        "$KUBECONFIG or ~/.kube/config.",
    )
    context: str | None = Field(None, description="The kubeconfig context to use (default: its current context).")
    namespace: str = Field("mcphost-servers", description="The namespace of the servers' workloads.")
    service_account: str | None = Field(
        None,
        description="The service account of server pods (default: the namespace's default); its token is never "
        "mounted.",
    )
    image_pull_secret: str = Field(
        "mcphost-registry",
        description="Name of the image pull Secret MCP Host keeps in the namespace from docker.registries (and "
        "builds.registry); patched when those credentials change.",
    )
    runtime_class: str | None = Field(
        None, description="A RuntimeClass for server pods (e.g. gvisor or kata), when the cluster has one."
    )
    storage: Literal["none", "volume"] = Field(
        "none",
        description="/data of a server: 'none' is an emptyDir (lost with the pod); 'volume' makes the workload a "
        "StatefulSet with a PersistentVolumeClaim of storage_size.",
    )
    storage_class: str | None = Field(None, description="StorageClass of the volume claims (default: the cluster's).")
    storage_size: str = Field("1Gi", description="Size of each server's volume claim.")
    bridge_image: str = Field(
        "mcphost:latest",
        description="The MCP Host image whose `mcphost bridge` serves a stdio server's stdio as Streamable HTTP "
        "inside its pod (scripts/build_image.sh builds it).",
    )
    address: Literal["service", "pod"] = Field(
        "service",
        description="How the gateway reaches a pod: its Service's cluster DNS name (MCP Host runs in the cluster) or "
        "the pod's IP (MCP Host runs on a node, outside the cluster's DNS).",
    )
    cpu_request: str = Field("50m", description="CPU request of a server container when its limits name none.")
    memory_request: str = Field("64Mi", description="Memory request of a server container when its limits name none.")
    request_timeout_seconds: float = Field(30.0, gt=0, description="Timeout of one call to the API server.")
    start_timeout_seconds: float = Field(
        180.0, gt=0, description="How long a pod may take to be ready (image pull included) before the start fails."
    )
