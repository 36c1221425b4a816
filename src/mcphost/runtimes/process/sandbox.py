"""The bubblewrap sandbox a server process runs in.

What the server sees: the system directories read-only (``/usr``, ``/bin``, ``/sbin``, ``/lib*``, ``/etc`` with every
entry that is not world-readable masked: shadow files, private keys), the paths its artifact needs read-only (its
package environment and interpreter), a private ``/tmp``, its own ``/proc`` and ``/dev``, and its data directory
writable at ``/data`` (also its working and home directory). Nothing else exists: not MCP Host's home (secret key,
database), not ``/root``, ``/home``, ``/var`` or the source tree. It runs in new pid, ipc, uts and network namespaces,
in its own session, without capabilities, in a user namespace where it is not root and cannot create another one,
and dies with MCP Host.

Who it runs as. When MCP Host runs as root, bubblewrap itself runs as root (it must read what it mounts, e.g. an
interpreter under ``/root``), keeps only the capabilities to change users, and runs ``setpriv`` to become the
server's own host uid and gid (``users``) and a second, unprivileged bubblewrap that creates the user namespace
(the server's uid maps to itself) and forbids further ones. When MCP Host is not root, one unprivileged bubblewrap
does all of it and the server keeps MCP Host's (non-zero) uid.

The network (``network``): ``isolated`` is a namespace of its own that a helper (pasta or slirp4netns) connects to
the outside while bubblewrap holds the server back (``--info-fd`` tells the namespace, ``--block-fd`` releases the
server); ``none`` is a namespace with only loopback; ``host`` shares the host's network (no helper: said loudly).

The environment reaches the server through bubblewrap's own environment (built from scratch by the runtime),
not through ``--setenv``: arguments are readable by every local user in ``/proc/PID/cmdline``, environments are not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import stat
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

__all__ = [
    "SYSTEM_DIRS",
    "Sandbox",
    "SandboxLaunch",
    "SandboxLayout",
    "command_mounts",
    "exposes",
    "is_system_path",
    "overlaps",
]

log = logging.getLogger(__name__)

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
#: Where bubblewrap's parent directories of binds may point to. /etc is bound separately (masked).
_VISIBLE_ROOTS = (*SYSTEM_DIRS, "/etc")
DATA_DIR = "/data"
_PROBE_TIMEOUT = 10.0
_SEARCH_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
Network = Literal["isolated", "none", "host"]


def is_system_path(path: str | os.PathLike[str]) -> bool:
    """Whether the sandbox already shows ``path`` (under a read-only system directory)."""
    text = os.path.abspath(path)
    return any(text == root or text.startswith(root + "/") for root in _VISIBLE_ROOTS)


def exposes(path: str | os.PathLike[str], secret: str | os.PathLike[str]) -> bool:
    """Whether binding ``path`` would make ``secret`` visible (it is the secret or one of its parents)."""
    inner, outer = os.path.realpath(secret), os.path.realpath(path)
    return inner == outer or inner.startswith(outer.rstrip("/") + "/")


def overlaps(path: str | os.PathLike[str], hidden: str | os.PathLike[str]) -> bool:
    """Whether binding ``path`` would show anything of ``hidden``: it is inside it, is it, or contains it."""
    return exposes(path, hidden) or exposes(hidden, path)


@cache
def _masked_etc(root: str = "/etc") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Files and directories under /etc that not every user may read: (files, directories) to hide."""
    files: list[str] = []
    dirs: list[str] = []
    for current, subdirs, names in os.walk(root):
        kept = []
        for name in subdirs:
            path = os.path.join(current, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode) and not (mode & stat.S_IROTH and mode & stat.S_IXOTH):
                dirs.append(path)
            else:
                kept.append(name)
        subdirs[:] = kept
        for name in names:
            path = os.path.join(current, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if stat.S_ISREG(mode) and not mode & stat.S_IROTH:
                files.append(path)
    return tuple(sorted(files)), tuple(sorted(dirs))


def _etc_link_targets() -> list[str]:
    """Targets outside the visible tree of /etc symlinks a network client needs (e.g. systemd-resolved's)."""
    targets = []
    for name in ("resolv.conf", "hosts", "localtime", "ssl/certs/ca-certificates.crt"):
        path = Path("/etc") / name
        if path.is_symlink() and path.exists():
            target = os.path.realpath(path)
            if not is_system_path(target):
                targets.append(target)
    return targets


@dataclass(frozen=True)
class SandboxLayout:
    """One server's sandbox: what it may read, where it writes, its network and its user."""

    read_only: Sequence[Path]
    data_dir: Path
    network: Network = "isolated"
    hostname: str = "mcp-server"
    #: The host uid and gid the server becomes (MCP Host running as root); None: MCP Host's own (not root)
    user: tuple[int, int] | None = None
    #: The namespace's /etc/resolv.conf when the host's does not work there (a resolver on the host's loopback)
    resolv_conf: str | None = None
    extra_args: Sequence[str] = field(default_factory=tuple)


class SandboxLaunch:
    """One bubblewrap command line with the descriptors it needs. After spawning: ``spawned()``; with an isolated
    network, ``child_pid()`` names the namespace to configure and ``release()`` lets the server start."""

    def __init__(self) -> None:
        self.argv: list[str] = []
        #: Processes of the sandbox itself above the server (bubblewrap, its pid 1, the inner bubblewrap)
        self.depth = 2
        self._child_fds: list[int] = []
        self._info_r: int | None = None
        self._block_w: int | None = None

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return tuple(self._child_fds)

    def child_fd(self, fd: int) -> str:
        self._child_fds.append(fd)
        return str(fd)

    def watch(self) -> tuple[str, str]:
        """(--info-fd, --block-fd) arguments: the namespace's pid is read, the server waits to be released."""
        info_r, info_w = os.pipe2(os.O_CLOEXEC)
        block_r, block_w = os.pipe2(os.O_CLOEXEC)
        self._info_r, self._block_w = info_r, block_w
        return self.child_fd(info_w), self.child_fd(block_r)

    def data(self, content: str) -> str:
        """A descriptor bubblewrap reads a small file's content from."""
        read, write = os.pipe2(os.O_CLOEXEC)
        try:
            os.write(write, content.encode())
        finally:
            os.close(write)
        return self.child_fd(read)

    def spawned(self) -> None:
        """Close the child's ends in this process (whether or not the spawn worked)."""
        for fd in self._child_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._child_fds = []

    async def child_pid(self) -> int:
        """The pid (here) of the sandbox's first process, whose namespaces the server will run in."""
        if self._info_r is None:
            raise RuntimeError("this sandbox was launched without --info-fd")
        fd = self._info_r
        text = b""
        while True:
            chunk = await asyncio.to_thread(os.read, fd, 4096)
            if not chunk:
                raise OSError("the sandbox ended before it started its server")
            text += chunk
            try:
                return int(json.loads(text)["child-pid"])
            except ValueError:
                continue

    def release(self) -> None:
        """Let the server start (its network is ready)."""
        if self._block_w is not None:
            os.write(self._block_w, b"1")

    def close(self) -> None:
        self.spawned()
        for fd in (self._info_r, self._block_w):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._info_r = self._block_w = None


class Sandbox:
    """A usable bubblewrap: builds the command line that runs a program inside a ``SandboxLayout``."""

    def __init__(self, bwrap: str, *, setpriv: str | None = None) -> None:
        self.bwrap = bwrap
        #: Changes to the server's uid inside the sandbox (only used when MCP Host runs as root)
        self.setpriv = setpriv or shutil.which("setpriv", path=_SEARCH_PATH) or "/usr/bin/setpriv"

    @staticmethod
    def find(configured: str | None = None) -> str | None:
        """The bubblewrap executable: ``configured`` when given (None if it does not exist), else from PATH."""
        if configured is not None:
            return configured if os.access(configured, os.X_OK) else None
        return shutil.which("bwrap")

    def probe(self, user: tuple[int, int] | None = None) -> str | None:
        """Why this bubblewrap cannot create a sandbox here (e.g. user namespaces disabled), or None if it can."""
        program = shutil.which("true") or "/bin/true"
        layout = SandboxLayout(read_only=(), data_dir=Path("/"), network="none", user=user)
        launch = self.launch(layout, [program], data_bind=False)
        try:
            done = subprocess.run(  # noqa: S603 (a fixed argument vector)
                launch.argv,
                capture_output=True,
                text=True,
                timeout=_PROBE_TIMEOUT,
                env={},
                check=False,
                pass_fds=launch.pass_fds,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap ({self.bwrap}) cannot run: {exc}"
        finally:
            launch.close()
        if done.returncode != 0:
            reason = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
            return f"bubblewrap cannot create a sandbox on this machine: {reason[0]}"
        return None

    def launch(self, layout: SandboxLayout, command: Sequence[str], *, data_bind: bool = True) -> SandboxLaunch:
        """The full command line (bubblewrap, its options, ``--``, then the server's own argv) and its descriptors."""
        launch = SandboxLaunch()
        try:
            launch.argv = self._argv(launch, layout, command, data_bind=data_bind)
        except BaseException:
            launch.close()
            raise
        return launch

    def _argv(
        self, launch: SandboxLaunch, layout: SandboxLayout, command: Sequence[str], *, data_bind: bool
    ) -> list[str]:
        args = [self.bwrap]
        for name in SYSTEM_DIRS:
            path = Path(name)
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), name]
            elif path.is_dir():
                args += ["--ro-bind", name, name]
        args += ["--ro-bind", "/etc", "/etc"]
        files, dirs = _masked_etc()
        for masked_dir in dirs:
            args += ["--tmpfs", masked_dir, "--remount-ro", masked_dir]
        for masked_file in files:
            args += ["--ro-bind", "/dev/null", masked_file]
        for target in _etc_link_targets():
            args += ["--ro-bind", target, target]
        if layout.resolv_conf is not None:
            resolv = "/etc/resolv.conf"
            args += ["--perms", "0644", "--ro-bind-data", launch.data(layout.resolv_conf), os.path.realpath(resolv)]
        # /tmp before the artifact's paths, which may lie below it (a home under /tmp would be hidden otherwise)
        args += ["--proc", "/proc", "--dev", "/dev", "--perms", "01777", "--tmpfs", "/tmp"]  # noqa: S108 (private)
        mounts = _dedupe(layout.read_only)
        for parent in _parents(mounts):
            # bubblewrap would make them as private as on the host (e.g. /root): the server could not reach its mounts
            args += ["--perms", "0755", "--dir", str(parent)]
        for path in mounts:
            args += ["--ro-bind", str(path), str(path)]
        chdir = ["--chdir", DATA_DIR] if data_bind else []
        if data_bind:
            args += ["--bind", str(layout.data_dir), DATA_DIR]
        args += ["--remount-ro", "/"]  # the sandbox's own root (a tmpfs holding the mount points) is read-only too
        args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        args += ["--hostname", layout.hostname]
        if layout.network != "host":
            args.append("--unshare-net")
        if layout.network == "isolated":
            info_fd, block_fd = launch.watch()
            args += ["--info-fd", info_fd, "--block-fd", block_fd]
        args += ["--die-with-parent", "--new-session"]
        inner = ["--unshare-user", "--disable-userns"]
        if os.geteuid() != 0:
            # Unprivileged: bubblewrap's user namespace keeps MCP Host's own (non-zero) uid for the server.
            return [*args, *inner, *chdir, *layout.extra_args, "--", *command]
        if layout.user is None:
            raise ValueError("as root, the sandbox needs the uid and gid its server runs as")
        uid, gid = layout.user
        # As root: everything above is set up with root's rights; then only the rights to change users are kept,
        # used once by setpriv, and an unprivileged bubblewrap makes the user namespace the server runs in.
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", *layout.extra_args]
        args += ["--", self.setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--inh-caps=-all"]
        # (the data directory is the server's: 0700, so only the inner bubblewrap may enter it)
        args += ["--", self.bwrap, *inner, "--dev-bind", "/", "/", *chdir, "--", *command]
        launch.depth = 3
        return args


def _parents(mounts: Iterable[Path]) -> list[Path]:
    """The directories bubblewrap creates to hold the mount points (not shown by the system directories or /tmp)."""
    parents: set[Path] = set()
    for mount in mounts:
        for parent in mount.parents:
            if parent in (Path("/"), Path("/tmp")) or is_system_path(parent):  # noqa: S108
                continue
            parents.add(parent)
    return sorted(parents, key=lambda path: (len(path.parts), str(path)))


def _dedupe(paths: Iterable[Path]) -> list[Path]:
    """Paths not already visible, without ones nested in another (a parent's bind covers them)."""
    unique = sorted({Path(os.path.abspath(p)) for p in paths if not is_system_path(p) and os.path.exists(p)})
    kept: list[Path] = []
    for path in unique:
        if not any(path.is_relative_to(parent) for parent in kept):
            kept.append(path)
    return kept


def _venv_of(program: Path) -> Path | None:
    """The virtual environment a program lives in (``<venv>/bin/<program>`` next to ``pyvenv.cfg``)."""
    candidate = program.parent.parent
    return candidate if (candidate / "pyvenv.cfg").is_file() else None


def python_prefix(venv: Path) -> Path | None:
    """The base interpreter's installation prefix of a virtual environment (from ``pyvenv.cfg``)."""
    try:
        lines = (venv / "pyvenv.cfg").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "home" and value.strip():
            home = Path(value.strip())
            return home.parent if home.name == "bin" else home
    return None


def _installation_of(path: Path) -> Path:
    """The directory a program belongs to: ``<prefix>`` for ``<prefix>/bin/x``, else the program's directory."""
    return path.parent.parent if path.parent.name == "bin" else path.parent


def program_mounts(program: Path) -> list[Path]:
    """Read-only paths a program needs in the sandbox: its installation (venv and base interpreter for Python)."""
    mounts: list[Path] = []
    venv = _venv_of(program)
    if venv is not None:
        mounts.append(venv)
        prefix = python_prefix(venv)
        if prefix is not None:
            mounts.append(prefix)
    real = Path(os.path.realpath(program))
    if not is_system_path(real):
        mounts.append(_installation_of(real))
    return list(dict.fromkeys(mount for mount in mounts if not is_system_path(mount)))


def command_mounts(argv: Sequence[str], *, hidden: Sequence[Path]) -> list[Path]:
    """What a command source needs visible: its program's installation and every argument naming an existing
    absolute path. Raises ValueError, naming the argument, when one of them would show anything of a ``hidden`` path
    (MCP Host's home, its database): they are never mounted, in either direction (a parent or a path inside)."""
    named = [(argv[0], mount) for mount in program_mounts(Path(argv[0]))]
    named += [(arg, Path(arg)) for arg in argv[1:] if arg.startswith("/") and os.path.exists(arg)]
    for argument, mount in named:
        for secret in hidden:
            if overlaps(mount, secret):
                raise ValueError(
                    f"the command's argument {argument!r} would show {mount} to the server, which is or holds MCP "
                    f"Host's own data ({secret}); no path of MCP Host's home or database is ever mounted: copy what "
                    "the server needs into its data directory (/data) or elsewhere"
                )
    return list(dict.fromkeys(mount for _, mount in named if not is_system_path(mount)))
