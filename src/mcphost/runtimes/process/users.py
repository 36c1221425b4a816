"""The host user a sandboxed server runs as.

When MCP Host runs as root, each server gets a host uid (and the same gid) of its own from a configured range
(``runtime.server_uid_base`` .. ``+ server_uid_count``), never 0: its processes are that user's only (so
``RLIMIT_NPROC`` counts the server alone), a process that escaped its sandbox owns nothing of the platform's or of
another server's, and its data directory belongs to it. The data directory's owner is the record of which uid a
server has: it survives restarts of the platform without a table. A new server gets the uid its id hashes to, or
the next one not owning another server's data directory.

When MCP Host does not run as root it cannot switch users: servers run under its own uid (inside a user
namespace, still not root there), and only the sandbox and the pids cgroup keep them apart.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from pathlib import Path

__all__ = ["ServerUsers", "own_directory"]


class ServerUsers:
    """Hands out one host uid per server from a range, remembered as the owner of the server's data directory."""

    def __init__(self, servers_root: Path, *, base: int, count: int) -> None:
        if base <= 0 or count <= 0:
            raise ValueError("the server uid range must start above 0 and hold at least one uid")
        self.servers_root = servers_root
        self.base = base
        self.count = count
        self._lock = threading.Lock()
        self._given: dict[Path, int] = {}

    def __contains__(self, uid: int) -> bool:
        return self.base <= uid < self.base + self.count

    def uid_for(self, server_id: uuid.UUID, data_dir: Path) -> int:
        """The server's uid: the owner of its data directory when that is one of ours, else a free one."""
        key = Path(os.path.abspath(data_dir))
        with self._lock:
            owner = _owner(key)
            if owner is not None and owner in self:
                self._given[key] = owner
                return owner
            if key in self._given:
                return self._given[key]
            taken = self._taken(besides=key)
            start = server_id.int % self.count
            for step in range(self.count):
                uid = self.base + (start + step) % self.count
                if uid not in taken:
                    self._given[key] = uid
                    return uid
        raise RuntimeError(
            f"every uid of runtime.server_uid_base .. +server_uid_count ({self.base}..{self.base + self.count - 1}) "
            "owns another server's data; widen the range"
        )

    def _taken(self, besides: Path) -> set[int]:
        """The uids owning the other servers' data directories (and handed out in this run)."""
        taken = {uid for path, uid in self._given.items() if path != besides}
        with contextlib.suppress(OSError):
            for entry in self.servers_root.iterdir():
                owner = _owner(entry / "data")
                if owner is not None and owner in self and entry / "data" != besides:
                    taken.add(owner)
        return taken


def _owner(path: Path) -> int | None:
    try:
        return path.lstat().st_uid
    except OSError:
        return None


def own_directory(directory: Path, uid: int, gid: int) -> None:
    """Make ``directory`` and everything in it belong to ``uid``:``gid`` (mode 0700 at the top).

    Only walks the tree when the top is not the server's yet (a server from before uids per server, or a new
    one): what the server writes is its own already. Symbolic links are changed themselves, never followed."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    top = directory.lstat()
    if (top.st_uid, top.st_gid) != (uid, gid):
        for current, dirs, files in os.walk(directory, followlinks=False):
            for name in (*dirs, *files):
                with contextlib.suppress(FileNotFoundError):
                    os.chown(os.path.join(current, name), uid, gid, follow_symlinks=False)
        os.chown(directory, uid, gid, follow_symlinks=False)
    if top.st_mode & 0o777 != 0o700:
        os.chmod(directory, 0o700)
