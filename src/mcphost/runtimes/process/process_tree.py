"""The process tree of a running server, read from ``/proc``: its descendants, its process group, which of them
still run (told apart from later processes reusing a pid), and signalling them all. The process runtime's
instance uses it to leave nothing of a server running when it stops."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable

__all__ = [
    "alive",
    "descendants",
    "group_members",
    "living",
    "signal_all",
    "start_times",
    "still_running",
]


def _table() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, process group, state) of every process, read from /proc."""
    table: dict[int, tuple[int, int, str]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0].decode())
    return table


def descendants(root: int) -> dict[int, int]:
    """Living (non-zombie) descendants of ``root``: pid -> parent pid."""
    children: dict[int, list[int]] = {}
    table = _table()
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found: dict[int, int] = {}
    queue = [root]
    while queue:
        parent = queue.pop()
        for pid in children.get(parent, ()):
            if pid not in found:
                if table[pid][2] != "Z":
                    found[pid] = parent
                queue.append(pid)
    return found


def group_members(pgid: int) -> list[int]:
    """Living (non-zombie) processes in the process group ``pgid``."""
    return [pid for pid, (_, group, state) in _table().items() if group == pgid and state != "Z"]


def alive(pgid: int) -> bool:
    """Whether any living (non-zombie) process is in the process group ``pgid``."""
    return bool(group_members(pgid))


def living(pids: Iterable[int]) -> list[int]:
    """Which of ``pids`` still run (not exited, not a zombie waiting for its parent)."""
    found = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        if stat[stat.rindex(b")") + 2 :].split()[0] not in (b"Z", b"X"):
            found.append(pid)
    return found


def start_times(pids: Iterable[int]) -> dict[int, bytes]:
    """Each running process's start time, which tells it apart from a later process reusing its pid."""
    found: dict[int, bytes] = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields and fields[0] not in (b"Z", b"X"):
            found[pid] = fields[19]
    return found


def still_running(seen: dict[int, bytes]) -> list[int]:
    """Which of the processes seen earlier (by ``start_times``) are still the same processes and running."""
    now = start_times(seen)
    return [pid for pid, started in now.items() if seen.get(pid) == started]


def signal_all(pids: Iterable[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)
