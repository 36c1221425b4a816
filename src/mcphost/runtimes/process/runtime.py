"""The process runtime: hosted servers as local processes, sandboxed with bubblewrap when it is available.

``prepare`` installs packages into shared cached environments (``packages``) or resolves a command's program;
``start`` runs the program with its own environment only (built from scratch: never the platform's secret key,
database URL or other servers' secrets), in its own session, under the sandbox (``sandbox``) with a network of its
own (``network``) and a host uid of its own (``users``), within its limits (``limits``). ``stop`` follows the MCP
stdio shutdown sequence (close stdin, SIGTERM, SIGKILL) and leaves nothing of the server running: the whole process
tree, process group, cgroup and network helper are killed (``instance``).

Nothing of MCP Host's home or database is ever mounted into a sandbox except the server's own data directory (at
``/data``) and the package environment the runtime built for it (read-only). Without a sandbox a server runs as MCP
Host's user and sees the real file system; ``/data`` in its arguments and environment is rewritten to its data
directory, so a catalog default such as ``/data/memory.jsonl`` works in both modes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any, ClassVar, Literal

from mcphost.runtimes.base import (
    Artifact,
    Instance,
    LaunchSpec,
    Limits,
    PrepareFailed,
    Progress,
    Runtime,
    StartFailed,
    Transport,
)
from mcphost.runtimes.process.instance import ProcessInstance
from mcphost.runtimes.process.limits import Applied, Cgroups, Limiter, detect_cgroups
from mcphost.runtimes.process.network import find_helper, resolv_conf_for
from mcphost.runtimes.process.packages import PackageCache
from mcphost.runtimes.process.sandbox import (
    DATA_DIR,
    Network,
    Sandbox,
    SandboxLaunch,
    SandboxLayout,
    command_mounts,
    overlaps,
)
from mcphost.runtimes.process.users import ServerUsers, own_directory
from mcphost.settings import Settings

__all__ = ["ProcessRuntime"]

log = logging.getLogger(__name__)

STDIO_LIMIT = 16 * 1024 * 1024
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
_NODE_LIKE = frozenset({"node", "nodejs", "npx", "npm", "bun", "deno"})
#: ``/data`` as a whole argument or value, or after ``=`` (``--db=/data/x``), followed by ``/`` or its end
_DATA_PATH = re.compile(r"(^|=)/data(?=/|$)")
_INSTALL_PASST = "install passt (apt-get install passt) or slirp4netns"


class ProcessRuntime(Runtime):
    """Runs servers as local processes; see the module documentation."""

    type: ClassVar[str] = "process"
    source_types: ClassVar[frozenset[str]] = frozenset({"package", "command"})
    #: What every host enforces whatever its setup; ``enforced_for`` tells what this host enforces.
    enforces: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        settings: Settings,
        *,
        bwrap: str | None = None,
        cgroups: Cgroups | Literal["auto"] | None = "auto",
        max_log_lines: int = 10_000,
    ) -> None:
        """``bwrap``: the bubblewrap executable (default: found on PATH; a missing path means "not installed").
        ``cgroups``: the hierarchy for limits (default: detected; None: rlimits only)."""
        self.settings = settings
        self.options = settings.runtime
        self.packages = PackageCache(
            settings.home / "envs", python=self.options.python, timeout=self.options.install_timeout_seconds
        )
        self.max_log_lines = max_log_lines
        self._bwrap_setting = bwrap or self.options.bwrap_path
        self._sandbox: Sandbox | None = None
        self._sandbox_problem: str | None = None
        self._sandbox_checked = False
        self._sandbox_lock = threading.Lock()
        if self.options.cgroups == "off":
            cgroups = None
        self.limiter = Limiter(detect_cgroups() if cgroups == "auto" else cgroups, max_pids=self.options.max_pids)
        if self.limiter.cgroups is not None:
            self.limiter.cgroups.remove_stale()  # left by a platform killed before it could remove them
        #: One host uid per server, when MCP Host runs as root (else servers keep its uid)
        self.users = (
            ServerUsers(
                settings.home / "servers", base=self.options.server_uid_base, count=self.options.server_uid_count
            )
            if os.geteuid() == 0
            else None
        )
        self.network_helper = find_helper(self.options.network_helper)
        self._resolv_conf = resolv_conf_for(self.network_helper) if self.network_helper is not None else None
        self._instances: set[ProcessInstance] = set()

    # the sandbox and what is enforced

    def _check_sandbox(self) -> None:
        """Find and try bubblewrap once (thread-safe: concurrent first starts all wait for the one answer)."""
        with self._sandbox_lock:
            if self._sandbox_checked:
                return
            if self.options.sandbox == "off":
                self._sandbox_problem = "sandboxing is turned off (runtime.sandbox = off)"
            elif (path := Sandbox.find(self._bwrap_setting)) is None:
                self._sandbox_problem = "bubblewrap is not installed"
            else:
                sandbox = Sandbox(path)
                probe_user = (self.users.base, self.users.base) if self.users is not None else None
                self._sandbox_problem = sandbox.probe(probe_user)
                if self._sandbox_problem is None:
                    self._sandbox = sandbox
            self._sandbox_checked = True

    @property
    def sandboxed(self) -> bool:
        """Whether servers run under bubblewrap."""
        self._check_sandbox()
        return self._sandbox is not None

    @property
    def isolates_instances(self) -> bool:
        """Unsandboxed, a server's instances run as one user and can read each other's /proc/PID/environ."""
        return self.sandboxed

    @property
    def warnings(self) -> list[str]:
        """What holds for every server of this runtime that the user should know (shown on each server)."""
        self._check_sandbox()
        if self._sandbox is None:
            if self.options.sandbox == "required":
                return [f"cannot run: a sandbox is required but {self._sandbox_problem}"]
            return [f"runs without a sandbox: {self._sandbox_problem}"]
        return []

    def enforced_for(self, artifact: Artifact | None = None) -> frozenset[str]:
        """Limits this host enforces for a program (Node-like programs get no address-space limit)."""
        own_uid = self.users is not None and self.sandboxed
        enforced = set(self.limiter.enforced(address_space_ok=not _node_like(artifact), own_uid=own_uid))
        if self.sandboxed:
            enforced.add("network_none")
            if self.network_helper is not None:
                enforced.add("network_isolated")
        return frozenset(enforced)

    def warnings_for(self, limits: Limits, artifact: Artifact | None = None) -> list[str]:
        enforced = self.enforced_for(artifact)
        messages = list(self.warnings)
        if limits.network != "none" and self.sandboxed and "network_isolated" not in enforced:
            if self.options.sandbox == "required":
                messages.append(f"cannot run with network access: no network helper is installed ({_INSTALL_PASST})")
            else:
                messages.append(
                    "shares the host's network: it can reach every service on this machine's loopback, MCP Host "
                    f"included ({_INSTALL_PASST} to give it a network of its own)"
                )
        if (
            limits.network != "none"
            and self.options.host_loopback_ports
            and self.network_helper is not None
            and not self.network_helper.forwards_to_loopback
        ):
            messages.append("runtime.host_loopback_ports are not reachable: they need pasta (apt-get install passt)")
        if limits.cpu is not None and "cpu" not in enforced:
            messages.append("CPU limit is not enforced by the process runtime on this machine (no usable cgroups)")
        if limits.memory_mib is not None and "memory" not in enforced:
            reason = "no usable cgroups, and Node.js needs its address space" if _node_like(artifact) else "no cgroups"
            messages.append(f"memory limit is not enforced by the process runtime on this machine ({reason})")
        if "pids" not in enforced:
            messages.append(
                f"the process limit ({self.options.max_pids}) is not enforced by the process runtime on this machine "
                "(no pids cgroup, and servers have no uid of their own)"
            )
        if limits.gpu > 0:
            messages.append("GPU is not supported by the process runtime")
        if limits.network == "none" and "network_none" not in enforced:
            messages.append("network: none is not enforced by the process runtime without a sandbox")
        return messages

    # prepare

    async def prepare(self, source: dict[str, Any], progress: Progress) -> Artifact:
        kind = source.get("type")
        if kind == "package":
            return await self.packages.prepare(source, progress)
        if kind == "command":
            return await self._prepare_command(source, progress)
        raise PrepareFailed(f"the process runtime cannot run {kind!r} sources; it runs packages and commands")

    async def _prepare_command(self, source: dict[str, Any], progress: Progress) -> Artifact:
        command = [str(part) for part in source.get("command") or []]
        if not command or not command[0] or any("\x00" in part for part in command):
            raise PrepareFailed("a command source needs a program to run")
        transport: Transport
        match source.get("transport") or "stdio":
            case "stdio":
                transport = "stdio"
            case "streamable-http":
                transport = "streamable-http"
            case other:
                raise PrepareFailed(f"unknown transport {other!r}")
        found = _resolve_program(command[0])
        argv = [found, *command[1:]]
        try:
            mounts = command_mounts(argv, hidden=self._hidden_paths())
        except ValueError as exc:
            raise PrepareFailed(str(exc)) from None
        await progress(f"running {found} (a command: nothing to install)")
        url = source.get("url")
        return Artifact(
            argv=tuple(argv), transport=transport, url=url, mounts=tuple(mounts), details={"program": found}
        )

    def _hidden_paths(self) -> list[Path]:
        """What no server may see: MCP Host's home (secret key, database, other servers' data) and its database."""
        hidden = [self.settings.home]
        url = self.settings.effective_database_url
        if url.startswith("sqlite") and ":///" in url:
            database = url.split(":///", 1)[1].split("?", 1)[0]
            hidden += [Path(database + suffix) for suffix in ("", "-wal", "-shm", "-journal")]
        return hidden

    def _check_mounts(self, spec: LaunchSpec) -> None:
        """Refuse an artifact that would show anything of MCP Host's own to the server: only the package environment
        the runtime built for it may lie in the home (read-only; it holds no secrets)."""
        envs = self.settings.home / "envs"
        own_env = spec.artifact.details.get("env")
        for mount in spec.artifact.mounts:
            if own_env and str(mount) == own_env and _inside(mount, envs):
                continue
            for hidden in self._hidden_paths():
                if overlaps(mount, hidden):
                    raise StartFailed(
                        f"refusing to start {spec.slug}: {mount} would show MCP Host's own data ({hidden}) to the "
                        "server; nothing of MCP Host's home or database is mounted but the server's own data"
                    )

    def _network(self, spec: LaunchSpec, transport: Transport) -> Network:
        """The server's network: its own namespace (with a helper), loopback only, or (no helper) the host's."""
        if self._sandbox is None:
            return "host"
        if spec.limits.network == "none":
            if transport == "streamable-http":
                raise StartFailed("network: none cannot be used with a streamable-http server (it must be reachable)")
            return "none"
        helper = self.network_helper
        if helper is None:
            if self.options.sandbox == "required":
                raise StartFailed(
                    f"refusing to start {spec.slug}: a sandbox is required (runtime.sandbox = required) and a server "
                    f"with network access needs a network of its own, but no network helper is installed "
                    f"({_INSTALL_PASST}); or give the server network: none"
                )
            log.warning("%s shares the host's network: no network helper is installed", spec.slug)
            return "host"
        if transport == "streamable-http" and not helper.forwards_to_loopback:
            raise StartFailed(
                f"cannot start {spec.slug}: a streamable-http server in a network of its own is reached through "
                f"pasta, and only {helper.name} is installed (apt-get install passt)"
            )
        return "isolated"

    # start

    async def start(self, spec: LaunchSpec) -> Instance:
        artifact = spec.artifact
        if not artifact.argv:
            raise StartFailed("the artifact has no program to run; prepare the source first")
        if not self._sandbox_checked:
            await asyncio.to_thread(self._check_sandbox)  # runs bubblewrap once to see that it works here
        if self._sandbox is None and self.options.sandbox == "required":
            raise StartFailed(
                f"refusing to start {spec.slug}: a sandbox is required (runtime.sandbox = required) "
                f"but {self._sandbox_problem}"
            )
        self._check_mounts(spec)
        transport, url, argv, extra_env = artifact.transport, artifact.url, list(artifact.argv), {}
        network = self._network(spec, transport)
        user = await self._prepare_data(spec)
        port = None
        if transport == "streamable-http":
            port = _free_port()
            url = (url or "http://127.0.0.1:{port}/mcp").replace("{port}", str(port))
            argv = [argv[0], *(arg.replace("{port}", str(port)) for arg in argv[1:])]
            extra_env["PORT"] = str(port)
        if self._sandbox is None:  # the server sees the real file system: /data is where its data directory is
            argv = [argv[0], *(_at_data(arg, spec.data_dir) for arg in argv[1:])]
        env = self._environment(spec, artifact, extra_env)
        try:
            applied = self.limiter.apply(
                spec.slug, spec.limits, address_space_ok=not _node_like(artifact), own_uid=user is not None
            )
        except OSError as exc:
            raise StartFailed(f"cannot apply the resource limits of {spec.slug}: {exc}") from None
        launch = None
        if self._sandbox is not None:
            layout = SandboxLayout(
                read_only=artifact.mounts,
                data_dir=spec.data_dir,
                network=network,
                hostname=spec.slug[:63] or "mcp-server",
                user=user,
                resolv_conf=self._resolv_conf if network == "isolated" else None,
            )
            launch = self._sandbox.launch(layout, argv)
            argv = launch.argv
        try:
            instance = await self._spawn(spec, argv, env, applied, transport, url, launch)
            if network == "isolated" and launch is not None:
                await self._connect(instance, launch, spec, port)
        finally:
            if launch is not None:
                launch.close()
        instance.uid = user[0] if user is not None else None
        self._instances.add(instance)
        instance._watch_task.add_done_callback(lambda _: self._instances.discard(instance))
        return instance

    async def _prepare_data(self, spec: LaunchSpec) -> tuple[int, int] | None:
        """Create the data directory; as root, give the server its uid and the directory to that uid."""
        if self.users is None or self._sandbox is None:
            spec.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            return None
        try:
            uid = self.users.uid_for(spec.server_id, spec.data_dir)
            await asyncio.to_thread(own_directory, spec.data_dir, uid, uid)
        except (OSError, RuntimeError) as exc:
            raise StartFailed(f"cannot give {spec.slug} its own user: {exc}") from None
        return uid, uid

    async def _connect(
        self, instance: ProcessInstance, launch: SandboxLaunch, spec: LaunchSpec, port: int | None
    ) -> None:
        """Attach the network helper to the sandbox's namespace, then let the server start; stop it if that fails."""
        helper = self.network_helper
        assert helper is not None
        try:
            child = await launch.child_pid()
            instance.network = await helper.attach(
                child,
                forward=[port] if port is not None else [],
                host_ports=self.options.host_loopback_ports if helper.forwards_to_loopback else (),
                dns_forward=self._resolv_conf is not None,
            )
            launch.release()
        except (OSError, asyncio.CancelledError) as exc:
            await instance.stop(0)
            if isinstance(exc, asyncio.CancelledError):
                raise
            said = "; ".join(instance.last_log_lines(5))
            raise StartFailed(
                f"cannot give {spec.slug} its own network ({helper.name}): {exc}" + (f" ({said})" if said else "")
            ) from None

    def _environment(self, spec: LaunchSpec, artifact: Artifact, extra: dict[str, str]) -> dict[str, str]:
        """The server's whole environment, from scratch: nothing of the platform's own leaks in."""
        bin_dir = artifact.details.get("bin_dir")
        path = f"{bin_dir}:{SYSTEM_PATH}" if bin_dir else SYSTEM_PATH
        home = DATA_DIR if self._sandbox is not None else str(spec.data_dir)
        env = {"PATH": path, "HOME": home, "LANG": "C.UTF-8", "TMPDIR": "/tmp", "PYTHONUNBUFFERED": "1"}  # noqa: S108
        env.update(extra)
        if self._sandbox is None:
            env.update({name: _at_data(value, spec.data_dir) for name, value in spec.env.items()})
        else:
            env.update(spec.env)
        return env

    async def _spawn(
        self,
        spec: LaunchSpec,
        argv: list[str],
        env: dict[str, str],
        applied: Applied,
        transport: Transport,
        url: Any,
        launch: SandboxLaunch | None,
    ) -> ProcessInstance:
        stdio = transport == "stdio"
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if stdio else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE if stdio else asyncio.subprocess.STDOUT,
                env=env,
                cwd=spec.data_dir,
                start_new_session=True,
                preexec_fn=applied.preexec(),  # joins the cgroup before exec: see limits.Applied
                pass_fds=launch.pass_fds if launch is not None else (),
                limit=STDIO_LIMIT,
            )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            if applied.group is not None:
                applied.group.remove()
            raise StartFailed(f"cannot start {spec.slug} ({argv[0]}): {exc}") from None
        finally:
            applied.spawned()
            if launch is not None:
                launch.spawned()
        log_stream = process.stderr if stdio else process.stdout
        assert log_stream is not None
        return ProcessInstance(
            process,
            id=spec.instance_key or f"{spec.slug}-{process.pid}",
            transport=transport,
            url=url,
            sandboxed=self._sandbox is not None,
            group=applied.group,
            log_stream=log_stream,
            max_log_lines=self.max_log_lines,
            sandbox_depth=launch.depth if launch is not None else 2,
        )

    async def close(self) -> None:
        """Stop every instance still running: nothing outlives the runtime."""
        instances = list(self._instances)
        await asyncio.gather(*(i.stop(self.options.stop_grace_seconds) for i in instances), return_exceptions=True)


def _inside(path: Path, parent: Path) -> bool:
    return os.path.realpath(path).startswith(os.path.realpath(parent).rstrip("/") + "/")


def _at_data(value: str, data_dir: Path) -> str:
    """``value`` with a leading ``/data`` path (or one after ``=``) pointing at the real data directory instead."""
    return _DATA_PATH.sub(lambda match: match.group(1) + str(data_dir), value)


def _node_like(artifact: Artifact | None) -> bool:
    if artifact is None:
        return False
    if artifact.details.get("engine") == "node":
        return True
    return bool(artifact.argv) and Path(artifact.argv[0]).name in _NODE_LIKE


def _resolve_program(program: str) -> str:
    """An absolute path stays as it is (if it is an executable file); a bare name is looked up on PATH."""
    if os.path.isabs(program):
        found = program if os.path.isfile(program) and os.access(program, os.X_OK) else None
    elif "/" in program:
        raise PrepareFailed(f"{program!r}: give the program as an absolute path or a name found on PATH")
    else:
        found = shutil.which(program)
    if found is None:
        raise PrepareFailed(f"the program {program!r} was not found or is not executable")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
