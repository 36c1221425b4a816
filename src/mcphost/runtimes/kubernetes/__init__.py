"""The Kubernetes runtime (see ``runtime``)."""

from mcphost.runtimes.kubernetes.runtime import KubernetesRuntime

__all__ = ["KubernetesRuntime"]
