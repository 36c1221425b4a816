"""Watching a running server: its log lines (bounded, never blocking the server) and its process tree."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import deque
from collections.abc import AsyncIterator, Iterable

__all__ = ["LogBuffer", "alive", "descendants", "group_members", "living", "pump_lines", "signal_all"]

MAX_LINE_CHARS = 4096
_READ_CHUNK = 65536


class LogBuffer:
    """Lines waiting for their consumer. When it falls behind, the oldest lines are dropped (and counted) rather
    than the server being blocked on a full pipe."""

    def __init__(self, max_lines: int = 10_000, tail: int = 200) -> None:
        self.max_lines = max_lines
        self.dropped = 0
        self._unreported = 0
        self._lines: deque[str] = deque()
        self._tail: deque[str] = deque(maxlen=tail)
        self._closed = False
        self._changed = asyncio.Event()

    def put(self, line: str) -> None:
        if len(self._lines) >= self.max_lines:
            self._lines.popleft()
            self.dropped += 1
            self._unreported += 1
        self._lines.append(line)
        self._tail.append(line)
        self._changed.set()

    def close(self) -> None:
        self._closed = True
        self._changed.set()

    def tail(self, count: int) -> list[str]:
        return list(self._tail)[-count:] if count > 0 else []

    async def lines(self) -> AsyncIterator[str]:
        while True:
            if self._unreported:
                count, self._unreported = self._unreported, 0
                yield f"[mcphost] {count} log lines dropped: the server wrote them faster than they were read"
            if self._lines:
                yield self._lines.popleft()
                continue
            if self._closed:
                return
            self._changed.clear()
            await self._changed.wait()


def _decode(raw: bytes | bytearray) -> str:
    text = bytes(raw).decode(errors="replace").rstrip("\r")
    if len(text) > MAX_LINE_CHARS:
        return text[:MAX_LINE_CHARS] + " …[line truncated]"
    return text


async def pump_lines(stream: asyncio.StreamReader, buffer: LogBuffer) -> None:
    """Read ``stream`` to its end into ``buffer``, one line at a time, cutting overlong lines."""
    pending = bytearray()
    skipping = False  # inside the rest of a line already cut
    try:
        while chunk := await stream.read(_READ_CHUNK):
            pending += chunk
            while (end := pending.find(b"\n")) >= 0:
                if not skipping:
                    buffer.put(_decode(pending[:end]))
                skipping = False
                del pending[: end + 1]
            if len(pending) > MAX_LINE_CHARS * 4:
                if not skipping:
                    buffer.put(_decode(pending))
                skipping = True
                pending.clear()
        if pending and not skipping:
            buffer.put(_decode(pending))
    finally:
        buffer.close()


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
