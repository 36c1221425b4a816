"""Who this process is among the nodes: its machine, its internal address, whether client sessions are shared."""

from __future__ import annotations

import functools
import socket
from pathlib import Path

from mcphost.settings import Settings

__all__ = ["internal_url", "machine_id", "shared_sessions_enabled"]

_MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))


@functools.cache
def machine_id() -> str:
    """This machine's identity: replicas with the same one reach each other's loopback endpoints."""
    for path in _MACHINE_ID_FILES:
        try:
            found = path.read_text().strip()
        except OSError:
            continue
        if found:
            return found[:200]
    return socket.gethostname()[:200]


def internal_url(settings: Settings) -> str:
    """Where other replicas reach this process's gateway: ``nodes.internal_url``, else where ``mcphost up``
    listens (the host name when it listens on every interface)."""
    if settings.nodes.internal_url:
        return settings.nodes.internal_url.rstrip("/")
    host = settings.server.host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 (naming the wildcard, not binding it)
        host = socket.gethostname()
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.server.port}"


def shared_sessions_enabled(settings: Settings) -> bool:
    """Whether client sessions of HTTP upstreams are kept in the database (``nodes.shared_sessions``)."""
    mode = settings.nodes.shared_sessions
    return mode == "on" or (mode == "auto" and not settings.is_sqlite)
