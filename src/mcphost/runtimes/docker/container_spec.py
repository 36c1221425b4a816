"""What a server's container is created with: hardened by default, every field from the launch spec and settings.

- no new privileges, every capability dropped, a read-only root file system with a size-limited ``/tmp`` (tmpfs),
  a PID limit, a private IPC namespace, ``--init`` (PID 1 forwards signals and reaps);
- a non-root user: the image's own when it names one other than root, else ``docker.default_user`` (nobody);
- the server's data directory bind-mounted at ``/data`` (given to that user), nothing else of the host;
- CPU (``nano_cpus``) and memory (``mem_limit``, no swap beyond it) limits, GPU ``device_requests`` (NVIDIA);
- ``network: none`` as ``--network none`` (optionally under gVisor), else the platform's bridge network, whose
  containers cannot reach each other or this host (``network``);
- its configuration and secrets as environment values only: labels carry ids, never values;
- no log driver: the output is read over the attach socket into the server's logs, and nothing of what a server
  writes (MCP traffic included) is kept by the engine;
- for stdio servers whose image has a shell (under runc), MCP over two FIFOs rather than the attach socket
  (``fifo``): the entry point becomes ``/bin/sh -c 'exec "$@" <in >out'`` followed by the image's own entry point
  and command (or the source's).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcphost.runtimes.base import LaunchSpec
from mcphost.runtimes.fifo import STDIO_DIR, wrap_command
from mcphost.settings import DockerSettings

__all__ = ["DATA", "LABEL_HOME", "LABEL_INSTANCE", "LABEL_NODE", "LABEL_SERVER", "ContainerPlan", "plan_container"]

DATA = "/data"
LABEL_SERVER = "org.mcphost.server"
LABEL_INSTANCE = "org.mcphost.instance"
LABEL_NODE = "org.mcphost.node"
LABEL_HOME = "org.mcphost.home"
LABEL_SLUG = "org.mcphost.slug"
LABEL_GPU = "org.mcphost.gpu"
_NAME_PART = re.compile(r"[^a-zA-Z0-9_.-]+")


@dataclass(frozen=True)
class ContainerPlan:
    """Arguments of ``APIClient.create_container`` (``create``) and ``create_host_config`` (``host``)."""

    name: str
    image: str
    command: list[str] | None
    environment: dict[str, str]
    labels: dict[str, str]
    user: str
    stdin: bool
    network: str
    working_dir: str | None = None
    #: Replaces the image's entry point (None: the image's own).
    entrypoint: list[str] | None = None
    #: The host directory of the FIFOs that carry MCP (None: MCP over the attach socket).
    fifo_dir: Path | None = None
    host: dict[str, Any] = field(default_factory=dict)
    #: The GPU request that could not be passed to the engine (no NVIDIA runtime), recorded in a label instead.
    gpu_unavailable: bool = False


def home_label(home: str) -> str:
    """A short fingerprint of the platform's home: two platforms on one node never remove each other's containers."""
    return hashlib.sha256(home.encode()).hexdigest()[:16]


def plan_container(
    spec: LaunchSpec,
    settings: DockerSettings,
    *,
    node: str,
    home: str,
    user: str,
    gpu_supported: bool,
    fifo_root: Path | None = None,
) -> ContainerPlan:
    """``fifo_root``: where FIFO directories are made, when MCP may go over FIFOs (see ``fifo``)."""
    artifact = spec.artifact
    details = artifact.details
    none = spec.limits.network == "none"
    stdio = artifact.transport == "stdio"
    env = {"HOME": DATA, "TMPDIR": "/tmp"}  # noqa: S108 (the container's own tmpfs)
    if not stdio and details.get("port"):
        env["PORT"] = str(details["port"])
    env.update(spec.env)
    labels = {
        LABEL_SERVER: str(spec.server_id),
        LABEL_INSTANCE: spec.instance_key,
        LABEL_NODE: node,
        LABEL_HOME: home_label(home),
        LABEL_SLUG: spec.slug,
    }
    host: dict[str, Any] = {
        "binds": {str(spec.data_dir): {"bind": DATA, "mode": "rw"}},
        "init": True,
        "security_opt": ["no-new-privileges"],
        "cap_drop": ["ALL"],
        "read_only": True,
        "tmpfs": {"/tmp": f"rw,nosuid,nodev,size={settings.tmpfs_mib}m,mode=1777"},  # noqa: S108 (its own tmpfs)
        "pids_limit": settings.pids_limit,
        "ipc_mode": "private",
        "network_mode": "none" if none else settings.network,
        "auto_remove": False,
        "log_config": {"type": "none", "config": {}},
    }
    if spec.limits.cpu is not None:
        host["nano_cpus"] = int(spec.limits.cpu * 1e9)
    if spec.limits.memory_mib is not None:
        host["mem_limit"] = f"{spec.limits.memory_mib}m"
        host["memswap_limit"] = f"{spec.limits.memory_mib}m"
    gpu_unavailable = False
    if spec.limits.gpu > 0:
        labels[LABEL_GPU] = str(spec.limits.gpu)
        if gpu_supported:
            host["device_requests"] = [{"driver": "nvidia", "count": spec.limits.gpu, "capabilities": [["gpu"]]}]
        else:
            gpu_unavailable = True
    if none and settings.gvisor == "network_none":
        host["runtime"] = settings.gvisor_runtime
    name = container_name(spec.slug, spec.instance_key)
    command = list(artifact.argv) or None
    entrypoint = fifo_dir = None
    # The full command as the engine would run it: the image's entry point, then the source's command or the image's.
    argv = [*(details.get("entrypoint") or ()), *(artifact.argv or details.get("cmd") or ())]
    if fifo_root is not None and stdio and details.get("shell") and "runtime" not in host and argv:
        fifo_dir = fifo_root / name
        entrypoint, command = wrap_command([str(part) for part in argv])
        host["binds"][str(fifo_dir)] = {"bind": STDIO_DIR, "mode": "ro"}
    return ContainerPlan(
        name=name,
        image=artifact.image or "",
        command=command,
        environment=env,
        labels=labels,
        user=user,
        stdin=stdio and fifo_dir is None,
        network="none" if none else settings.network,
        working_dir=details.get("working_dir") or None,
        entrypoint=entrypoint,
        fifo_dir=fifo_dir,
        host=host,
        gpu_unavailable=gpu_unavailable,
    )


def container_name(slug: str, instance_key: str) -> str:
    """``mcphost-<slug>-<instance>-<random>``: readable in ``docker ps``, unique, within Docker's name rules."""
    key = _NAME_PART.sub("-", instance_key).strip("-.")[:24] or "instance"
    return f"mcphost-{_NAME_PART.sub('-', slug)[:30]}-{key}-{secrets.token_hex(3)}"
