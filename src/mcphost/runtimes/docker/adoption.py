"""Containers a previous run of this platform left: found by their labels (this node, this home) and removed when
no live instance owns them — a platform that was killed, or lost its engine connection, leaves no orphans running.
gVisor can leave ``runsc-sandbox`` processes behind a failed start; they are found by the container id in their
command line and killed."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Iterable
from pathlib import Path

from docker.errors import DockerException, NotFound

from mcphost.runtimes.docker.container_spec import LABEL_HOME, LABEL_NODE, home_label
from mcphost.runtimes.docker.engine import Engine

__all__ = ["kill_runsc_leftovers", "ours", "remove_orphans"]

log = logging.getLogger(__name__)


def ours(engine: Engine, node: str, home: str) -> list[dict[str, object]]:
    """Every container (running or not) of this node and home (blocking)."""
    filters = {"label": [f"{LABEL_NODE}={node}", f"{LABEL_HOME}={home_label(home)}"]}
    found: list[dict[str, object]] = engine.api.containers(all=True, filters=filters)
    return found


def remove_orphans(engine: Engine, node: str, home: str, owned: Iterable[str]) -> list[str]:
    """Remove this node's containers that no live instance owns; their ids (blocking)."""
    keep = set(owned)
    removed = []
    for container in ours(engine, node, home):
        container_id = str(container["Id"])
        if container_id in keep:
            continue
        with contextlib.suppress(NotFound):
            try:
                engine.api.remove_container(container_id, force=True, v=True)
            except DockerException as exc:
                log.warning("cannot remove the orphaned container %s: %s", container_id[:12], exc)
                continue
            removed.append(container_id)
    if removed:
        log.info("removed %d container(s) left by an earlier run: %s", len(removed), ", ".join(c[:12] for c in removed))
        kill_runsc_leftovers(removed)
    return removed


def kill_runsc_leftovers(container_ids: Iterable[str]) -> list[int]:
    """Kill gVisor processes (``runsc-sandbox``, ``runsc-gofer``, ``runsc``) still serving these containers."""
    wanted = [c for c in container_ids if c]
    if not wanted:
        return []
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not argv or b"runsc" not in Path(argv[0].decode(errors="replace")).name.encode():
            continue
        line = b" ".join(argv).decode(errors="replace")
        if any(container_id in line for container_id in wanted):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
    if killed:
        log.warning("killed %d gVisor process(es) left behind: %s", len(killed), killed)
    return killed
