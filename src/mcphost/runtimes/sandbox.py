"""The bubblewrap sandbox a server process runs in.

What the server sees: the system directories read-only (``/usr``, ``/bin``, ``/sbin``, ``/lib*``, ``/etc`` with every
entry that is not world-readable masked: shadow files, private keys), the paths its artifact needs read-only (its
package environment and interpreter), a private ``/tmp``, its own ``/proc`` and ``/dev``, and its data directory
writable at ``/data`` (also its working and home directory). Nothing else exists: not MCP Host's home (secret key,
database), not ``/root``, ``/home``, ``/var`` or the source tree. It runs in new pid, ipc and uts namespaces (and a
new network namespace with only loopback for ``network: none``), in its own session, without capabilities, and
dies with MCP Host.

The environment reaches the server through bubblewrap's own environment (built from scratch by the runtime),
not through ``--setenv``: arguments are readable by every local user in ``/proc/PID/cmdline``, environments are not.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

__all__ = ["SYSTEM_DIRS", "Sandbox", "SandboxLayout", "command_mounts", "exposes", "is_system_path"]

log = logging.getLogger(__name__)

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
#: Where bubblewrap's parent directories of binds may point to. /etc is bound separately (masked).
_VISIBLE_ROOTS = (*SYSTEM_DIRS, "/etc")
DATA_DIR = "/data"
_PROBE_TIMEOUT = 10.0


def is_system_path(path: str | os.PathLike[str]) -> bool:
    """Whether the sandbox already shows ``path`` (under a read-only system directory)."""
    text = os.path.abspath(path)
    return any(text == root or text.startswith(root + "/") for root in _VISIBLE_ROOTS)


def exposes(path: str | os.PathLike[str], secret: str | os.PathLike[str]) -> bool:
    """Whether binding ``path`` would make ``secret`` visible (it is the secret or one of its parents)."""
    inner, outer = os.path.realpath(secret), os.path.realpath(path)
    return inner == outer or inner.startswith(outer.rstrip("/") + "/")


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
    """One server's sandbox: what it may read, where it writes, whether it has a network."""

    read_only: Sequence[Path]
    data_dir: Path
    network: bool = True
    hostname: str = "mcp-server"
    extra_args: Sequence[str] = field(default_factory=tuple)


class Sandbox:
    """A usable bubblewrap: builds the command line that runs a program inside a ``SandboxLayout``."""

    def __init__(self, bwrap: str) -> None:
        self.bwrap = bwrap

    @staticmethod
    def find(configured: str | None = None) -> str | None:
        """The bubblewrap executable: ``configured`` when given (None if it does not exist), else from PATH."""
        if configured is not None:
            return configured if os.access(configured, os.X_OK) else None
        return shutil.which("bwrap")

    def probe(self) -> str | None:
        """Why this bubblewrap cannot create a sandbox here (e.g. user namespaces disabled), or None if it can."""
        program = shutil.which("true") or "/bin/true"
        argv = [self.bwrap, "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"]
        argv += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--die-with-parent"]
        try:
            done = subprocess.run(  # noqa: S603 (a fixed argument vector)
                [*argv, "--", program], capture_output=True, text=True, timeout=_PROBE_TIMEOUT, env={}, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap ({self.bwrap}) cannot run: {exc}"
        if done.returncode != 0:
            reason = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
            return f"bubblewrap cannot create a sandbox on this machine: {reason[0]}"
        return None

    def argv(self, layout: SandboxLayout, command: Sequence[str]) -> list[str]:
        """The full command line: bubblewrap, its options, ``--``, then the server's own argv."""
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
        # /tmp before the artifact's paths, which may lie below it (a home under /tmp would be hidden otherwise)
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]  # noqa: S108 (a private tmpfs)
        for path in _dedupe(layout.read_only):
            args += ["--ro-bind", str(path), str(path)]
        args += ["--bind", str(layout.data_dir), DATA_DIR, "--chdir", DATA_DIR]
        args += ["--remount-ro", "/"]  # the sandbox's own root (a tmpfs holding the mount points) is read-only too
        args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        args += ["--hostname", layout.hostname]
        if not layout.network:
            args.append("--unshare-net")
        args += ["--die-with-parent", "--new-session"]
        if os.geteuid() == 0:
            # Root keeps its capabilities in the sandbox unless told otherwise; an unprivileged bwrap has none.
            args += ["--cap-drop", "ALL"]
        args += [*layout.extra_args, "--", *command]
        return args


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
    absolute path. Raises ValueError when one of them would expose a ``hidden`` path (MCP Host's home)."""
    mounts = program_mounts(Path(argv[0]))
    mounts += [Path(arg) for arg in argv[1:] if arg.startswith("/") and os.path.exists(arg)]
    for mount in mounts:
        for secret in hidden:
            if exposes(mount, secret):
                raise ValueError(f"{mount} would make MCP Host's data directory visible to the server")
    return list(dict.fromkeys(mount for mount in mounts if not is_system_path(mount)))
