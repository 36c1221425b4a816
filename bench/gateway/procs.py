"""What a gateway costs the machine, read from /proc: CPU time (utime + stime) and resident memory of its process
tree, without the backend.

The backend is every process under the gateway whose command line names the backend's script, with its
descendants: the backend process itself and, where a gateway starts it through a shell or a sandbox launcher,
that wrapper too (wrappers wait and cost nothing measurable). Everything else under the gateway's main process
counts as the gateway: for MCP Host that includes its background services (job worker, trace writer), which run
during the window as they would in production.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    return children


def _cmdline(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}/cmdline").read_bytes()).replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def gateway_pids(root: int, backend_marker: str) -> list[int]:
    """The root and its descendants, less the backend: descendants whose command line names ``backend_marker``,
    with theirs. (The root is the gateway even when its own arguments name the backend's command.)"""
    children = _children()
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid != root and backend_marker in _cmdline(pid):
            continue
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


@dataclass
class Usage:
    cpu_seconds: float
    rss_kib: int


def usage(pids: list[int]) -> Usage:
    """CPU time so far and resident memory now, summed over the processes (ones that exited count nothing)."""
    ticks = rss = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
        rss += int(fields[21]) * PAGE_KIB  # rss in pages (field 24)
    return Usage(ticks / TICKS_PER_SECOND, rss)
