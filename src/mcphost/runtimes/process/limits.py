"""Memory, CPU and process-count limits for server processes.

Preferred: one control group per instance, cgroup v2 (a pure v2 host such as Debian 12) or v1 (hybrid hosts with
the ``memory``, ``cpu`` and ``pids`` controllers mounted separately). The child joins its group between fork and
exec, so nothing it starts escapes the limits; the group also lets the runtime find and kill everything the server
left behind. Without usable cgroups the fallbacks are rlimits: ``RLIMIT_AS`` for memory (not for Node, which
reserves far more address space than it uses), ``RLIMIT_NPROC`` for the process count (only meaningful when the
server runs under a host uid of its own: the kernel counts every process of that uid), nothing for CPU. Callers ask
``Limiter.enforced`` what holds and report the rest as not enforced.

Where groups go: v1 groups nest under the platform's own group (``<own>/mcphost/<instance>``), so they stay
inside whatever limits the platform itself runs under. v2 forbids processes in inner nodes, so v2 groups live
under a top-level ``mcphost`` group (as Docker's cgroupfs driver does), which needs root or a delegated tree.

An instance group's name carries its creator (``<server>@<pid>.<start time>.<random>``): a platform killed with
SIGKILL cannot remove its groups, so the next one removes the empty groups whose creator is gone
(``Cgroups.remove_stale``), and never a group of a platform still running.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import resource
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mcphost.runtimes.base import Limits

__all__ = ["Cgroups", "Limiter", "ResourceGroup", "detect_cgroups"]

log = logging.getLogger(__name__)

CPU_PERIOD_US = 100_000
GROUP_DIR = "mcphost"
_CONTROLLERS = ("memory", "cpu", "pids")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
#: ``<server>@<creator pid>.<creator start time>.<random>``: who made a group, to tell a stale one from a live one.
_OWNED_NAME = re.compile(r"@(\d+)\.(\d+)\.[0-9a-f]{8}$")
#: Groups of MCP Host versions before the creator was part of the name: ``<server>-<random>``.
_LEGACY_NAME = re.compile(r"-[0-9a-f]{8}$")
#: A legacy group empty for this long belongs to nobody (a group is joined milliseconds after it is made).
_LEGACY_STALE_SECONDS = 60.0


@dataclass
class ResourceGroup:
    """The control group(s) of one instance: one directory on v2, one per controller on v1."""

    dirs: list[Path]
    version: int

    def join_fds(self) -> list[int]:
        """Open ``cgroup.procs`` of each directory; the child writes ``0`` to them to join before exec."""
        fds: list[int] = []
        try:
            for directory in self.dirs:
                fds.append(os.open(directory / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC))
        except OSError:
            for fd in fds:
                os.close(fd)
            raise
        return fds

    def pids(self) -> set[int]:
        found: set[int] = set()
        for directory in self.dirs:
            with contextlib.suppress(OSError):
                found.update(int(pid) for pid in (directory / "cgroup.procs").read_text().split())
        return found

    def kill(self) -> None:
        """SIGKILL every process in the group (``cgroup.kill`` on v2 when the kernel has it)."""
        if self.version == 2 and (self.dirs[0] / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                (self.dirs[0] / "cgroup.kill").write_text("1")
                return
        for pid in self.pids():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def oom_kills(self) -> int:
        """How many processes the kernel killed for exceeding the memory limit."""
        for directory in self.dirs:
            name = "memory.events" if self.version == 2 else "memory.oom_control"
            try:
                text = (directory / name).read_text()
            except OSError:
                continue
            for line in text.splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        return 0

    def remove(self) -> bool:
        """Remove the group's directories; False while processes remain in them."""
        removed = True
        for directory in self.dirs:
            try:
                directory.rmdir()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.debug("cannot remove cgroup %s yet: %s", directory, exc)
                removed = False
        return removed


@dataclass
class Cgroups:
    """A usable cgroup hierarchy: where instance groups are created and which controllers work there."""

    version: int
    #: controller name -> the directory instance groups are created in
    parents: dict[str, Path]

    @property
    def controllers(self) -> frozenset[str]:
        return frozenset(self.parents)

    def create(self, name: str, limits: Limits, *, max_pids: int | None = None) -> ResourceGroup:
        """A new group with the limits written; raises OSError when the hierarchy refuses."""
        leaf = f"{_UNSAFE_NAME.sub('-', name)[:60]}@{_creator()}.{secrets.token_hex(4)}"
        dirs = sorted({parent / leaf for parent in self.parents.values()})
        group = ResourceGroup(dirs=[], version=self.version)
        try:
            for directory in dirs:
                directory.mkdir()
                group.dirs.append(directory)
            for controller, parent in self.parents.items():
                self._write_limit(controller, parent / leaf, limits)
                if controller == "pids" and max_pids is not None:
                    (parent / leaf / "pids.max").write_text(str(max_pids))
        except OSError:
            group.remove()
            raise
        return group

    def remove_stale(self) -> list[Path]:
        """Remove the empty instance groups left by platforms that no longer run (killed with SIGKILL: nothing
        removed them). Only empty ones, only instance groups, only under MCP Host's own group directories."""
        removed: list[Path] = []
        for parent in sorted(set(self.parents.values())):
            try:
                children = [entry for entry in parent.iterdir() if entry.is_dir()]
            except OSError:
                continue
            for group in children:
                if _stale(group) and _remove_if_empty(group):
                    removed.append(group)
        if removed:
            log.info("removed %d empty control groups left by an earlier run", len(removed))
        return removed

    def _write_limit(self, controller: str, directory: Path, limits: Limits) -> None:
        if controller == "memory" and limits.memory_mib is not None:
            amount = str(limits.memory_mib * 1024 * 1024)
            if self.version == 2:
                (directory / "memory.max").write_text(amount)
                _write_optional(directory / "memory.swap.max", "0")  # the limit holds even on hosts with swap
            else:
                (directory / "memory.limit_in_bytes").write_text(amount)
                _write_optional(directory / "memory.memsw.limit_in_bytes", amount)
        if controller == "cpu" and limits.cpu is not None:
            quota = max(1000, round(limits.cpu * CPU_PERIOD_US))
            if self.version == 2:
                (directory / "cpu.max").write_text(f"{quota} {CPU_PERIOD_US}")
            else:
                (directory / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
                (directory / "cpu.cfs_quota_us").write_text(str(quota))


def _start_time(pid: int) -> str | None:
    """A process's start time (clock ticks after boot), which tells it apart from a later one reusing its pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


def _creator() -> str:
    return f"{os.getpid()}.{_start_time(os.getpid()) or 0}"


def _stale(group: Path) -> bool:
    """Whether ``group`` is an instance group whose creator no longer runs."""
    if owned := _OWNED_NAME.search(group.name):
        pid, started = owned.groups()
        return _start_time(int(pid)) != started
    if _LEGACY_NAME.search(group.name):
        try:
            return time.time() - group.stat().st_mtime > _LEGACY_STALE_SECONDS
        except OSError:
            return False
    return False


def _remove_if_empty(group: Path) -> bool:
    try:
        if (group / "cgroup.procs").read_text().strip():
            return False
        group.rmdir()  # the kernel refuses (EBUSY) should a process have joined meanwhile
    except OSError:
        return False
    return True


def _write_optional(path: Path, value: str) -> None:
    if path.exists():
        with contextlib.suppress(OSError):
            path.write_text(value)


@dataclass(frozen=True)
class _Mount:
    root: str
    point: Path
    fstype: str
    options: frozenset[str]


def _mounts(mountinfo: Path) -> list[_Mount]:
    mounts = []
    for line in mountinfo.read_text().splitlines():
        fields = line.split()
        separator = fields.index("-")
        fstype, superopts = fields[separator + 1], fields[separator + 3]
        if fstype in ("cgroup", "cgroup2"):
            point = Path(fields[4].replace("\\040", " "))
            mounts.append(_Mount(fields[3], point, fstype, frozenset(superopts.split(","))))
    return mounts


def _own_groups(cgroup_file: Path) -> dict[str, str]:
    """controller -> this process's group path; the v2 group is under the key ''."""
    groups: dict[str, str] = {}
    for line in cgroup_file.read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            groups[controller] = path
    return groups


def _relative(own: str, mount_root: str) -> str:
    if mount_root != "/" and own.startswith(mount_root):
        own = own[len(mount_root) :]
    return own.strip("/")


def _usable(parent: Path) -> bool:
    """Whether instance groups can be created under ``parent`` (creating it if needed)."""
    probe = parent / f"probe-{secrets.token_hex(4)}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        log.debug("cgroups under %s are not usable: %s", parent, exc)
        return False
    return True


def _v2(mount: _Mount) -> Cgroups | None:
    try:
        available = set((mount.point / "cgroup.controllers").read_text().split())
    except OSError:
        return None
    wanted = [name for name in _CONTROLLERS if name in available]
    if not wanted:
        return None
    parent = mount.point / GROUP_DIR
    try:
        enabled = set((mount.point / "cgroup.subtree_control").read_text().split())
        missing = [name for name in wanted if name not in enabled]
        if missing:
            (mount.point / "cgroup.subtree_control").write_text(" ".join(f"+{name}" for name in missing))
        parent.mkdir(exist_ok=True)
        (parent / "cgroup.subtree_control").write_text(" ".join(f"+{name}" for name in wanted))
    except OSError as exc:
        log.debug("cgroup v2 at %s is not usable: %s", mount.point, exc)
        return None
    if not _usable(parent):
        return None
    return Cgroups(version=2, parents=dict.fromkeys(wanted, parent))


def _v1(mounts: list[_Mount], own: dict[str, str]) -> Cgroups | None:
    parents: dict[str, Path] = {}
    for controller in _CONTROLLERS:
        mount = next((m for m in mounts if m.fstype == "cgroup" and controller in m.options), None)
        if mount is None or controller not in own:
            continue
        parent = mount.point / _relative(own[controller], mount.root) / GROUP_DIR
        if _usable(parent):
            parents[controller] = parent
    return Cgroups(version=1, parents=parents) if parents else None


def detect_cgroups(
    mountinfo: Path = Path("/proc/self/mountinfo"), cgroup_file: Path = Path("/proc/self/cgroup")
) -> Cgroups | None:
    """The cgroup hierarchy this process may create instance groups in, or None (then rlimits are the fallback)."""
    try:
        mounts = _mounts(mountinfo)
        own = _own_groups(cgroup_file)
    except (OSError, ValueError, IndexError):
        return None
    for mount in mounts:
        if mount.fstype == "cgroup2" and (found := _v2(mount)) is not None:
            return found
    return _v1(mounts, own)


@dataclass
class Applied:
    """The limits of one instance, as applied: its group (if any) and what the child does before exec."""

    group: ResourceGroup | None = None
    address_space: int | None = None
    #: RLIMIT_NPROC, set only when the server runs under a host uid of its own (the count is per uid)
    processes: int | None = None
    _fds: list[int] = field(default_factory=list)

    def preexec(self) -> Callable[[], None]:
        """Runs in the child between fork and exec: join the group, set rlimits. Keep it tiny (no locks)."""
        fds = self._fds = self.group.join_fds() if self.group is not None else []
        address_space, processes = self.address_space, self.processes

        def child() -> None:
            for fd in fds:
                os.write(fd, b"0")
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core files holding the server's secrets
            if address_space is not None:
                resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
            if processes is not None:
                # Root (bubblewrap) is exempt; it counts once the sandbox has become the server's own uid.
                resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))

        return child

    def spawned(self) -> None:
        """Close the parent's copies of the join descriptors once the child exists."""
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []


class Limiter:
    """Decides how each limit is enforced on this host and applies it to one instance."""

    def __init__(self, cgroups: Cgroups | None, *, max_pids: int | None = None) -> None:
        self.cgroups = cgroups
        #: Processes (and threads) one instance may have; None: no limit.
        self.max_pids = max_pids

    def enforced(self, *, address_space_ok: bool, own_uid: bool = False) -> frozenset[str]:
        """Limits that hold for a program; ``address_space_ok`` is False for Node-like runtimes, ``own_uid`` is
        True when the server runs under a host uid of its own (then RLIMIT_NPROC counts its processes only)."""
        controllers = self.cgroups.controllers if self.cgroups is not None else frozenset()
        enforced = set(controllers)
        if "memory" not in controllers and address_space_ok:
            enforced.add("memory")
        if "pids" not in controllers and own_uid and self.max_pids is not None:
            enforced.add("pids")
        if self.max_pids is None:
            enforced.discard("pids")
        return frozenset(enforced)

    def apply(self, name: str, limits: Limits, *, address_space_ok: bool, own_uid: bool = False) -> Applied:
        """Create the instance's group (always when cgroups work: it also finds what the server leaves behind).
        ``own_uid``: the server runs under a host uid of its own (RLIMIT_NPROC then counts its processes only).

        Raises OSError when a limit was asked for and its group cannot be created."""
        applied = Applied()
        if self.cgroups is not None:
            try:
                applied.group = self.cgroups.create(name, limits, max_pids=self.max_pids)
            except OSError:
                if limits.memory_mib is not None or limits.cpu is not None:
                    raise
                log.warning("cannot create a cgroup for %s; running without one", name, exc_info=True)
        in_group = self.cgroups.controllers if applied.group is not None and self.cgroups else frozenset()
        if limits.memory_mib is not None and "memory" not in in_group and address_space_ok:
            applied.address_space = limits.memory_mib * 1024 * 1024
        if self.max_pids is not None and "pids" not in in_group and own_uid:
            applied.processes = self.max_pids
        return applied
