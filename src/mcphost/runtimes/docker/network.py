"""The bridge network of servers with network access, and what keeps them off this host.

A user-defined bridge (``docker.network``, interface ``docker.bridge_name``) created with inter-container
communication off: servers cannot reach each other. A bridge network never reaches the host's loopback, but the host
answers on the bridge's gateway address (and its other addresses) for every service listening on 0.0.0.0 — MCP Host
itself, a database, an SSH server. So, with ``docker.isolate_host``, an iptables chain drops every packet coming in
from that bridge to this host, except answers to connections the host opened (the gateway reaching an HTTP server in
a container). DNS still works: the engine's resolver answers inside each container's own namespace and forwards from
there. Outbound traffic to other machines (the FORWARD path) is left to the engine's own rules."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess

from docker.errors import APIError, DockerException, NotFound

from mcphost.runtimes.docker.engine import Engine
from mcphost.settings import DockerSettings

__all__ = ["ensure_network", "isolate_host"]

log = logging.getLogger(__name__)

LABEL_NETWORK = "org.mcphost.network"


def ensure_network(engine: Engine, settings: DockerSettings) -> dict[str, object]:
    """The servers' bridge network, created when missing (blocking: call it on the engine's threads)."""
    api = engine.api
    try:
        found: dict[str, object] = api.inspect_network(settings.network)
        return found
    except NotFound:
        pass
    options = {
        "com.docker.network.bridge.enable_icc": "false",
        "com.docker.network.bridge.name": settings.bridge_name,
    }
    try:
        api.create_network(
            settings.network, driver="bridge", options=options, labels={LABEL_NETWORK: "servers"}, check_duplicate=True
        )
    except APIError as exc:
        if exc.status_code != 409:  # created meanwhile by another process
            raise
    created: dict[str, object] = api.inspect_network(settings.network)
    return created


def isolate_host(bridge: str) -> str | None:
    """Drop traffic from ``bridge`` to this host (answers to the host's own connections pass); None when done, else
    why it could not be done (shown as a warning on the servers)."""
    if os.geteuid() != 0:
        return f"containers can reach services of this host on its addresses: blocking that needs root ({_HINT})"
    iptables = shutil.which("iptables")
    if iptables is None:
        return f"containers can reach services of this host on its addresses: iptables is not installed ({_HINT})"
    chain = f"MCPHOST-{bridge}"[:28]
    rules = [
        ["-N", chain],
        ["-F", chain],
        ["-A", chain, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
        ["-A", chain, "-j", "DROP"],
    ]
    try:
        for rule in rules:
            _iptables(iptables, rule, may_fail=rule[0] == "-N")
        if not _iptables(iptables, ["-C", "INPUT", "-i", bridge, "-j", chain], may_fail=True):
            _iptables(iptables, ["-I", "INPUT", "1", "-i", bridge, "-j", chain])
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        return f"containers can reach services of this host on its addresses: iptables failed ({detail.strip()})"
    return None


_HINT = "iptables -I INPUT -i BRIDGE -m conntrack ! --ctstate ESTABLISHED,RELATED -j DROP"


def _iptables(binary: str, rule: list[str], *, may_fail: bool = False) -> bool:
    done = subprocess.run(  # noqa: S603 (an argument list, no shell)
        [binary, "-w", "5", *rule], capture_output=True, text=True, timeout=30, check=False
    )
    if done.returncode != 0 and not may_fail:
        raise subprocess.CalledProcessError(done.returncode, rule, done.stdout, done.stderr)
    return done.returncode == 0


def network_problem(engine: Engine, settings: DockerSettings) -> str | None:
    """Create the network and isolate it; what could not be done, in words (blocking)."""
    try:
        ensure_network(engine, settings)
    except DockerException as exc:
        return f"cannot create the Docker network {settings.network!r}: {exc}"
    if not settings.isolate_host:
        return "containers can reach services of this host on its addresses (docker.isolate_host is off)"
    problem = isolate_host(settings.bridge_name)
    if problem is not None:
        log.warning("%s", problem)
    return problem
