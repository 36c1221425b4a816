"""The process runtime: hosted servers as local processes, sandboxed with bubblewrap when it is available.

``prepare`` installs packages into shared cached environments (``packages``) or resolves a command's program;
``start`` runs the program with its own environment only (built from scratch: never the platform's secret key,
database URL or other servers' secrets), in its own session, under the sandbox (``sandbox``) and within its
limits (``limits``). ``stop`` follows the MCP stdio shutdown sequence (close stdin, SIGTERM, SIGKILL) and
leaves nothing of the server running: the whole process tree, process group and cgroup are killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import AsyncIterator
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
from mcphost.runtimes.limits import Applied, Cgroups, Limiter, ResourceGroup, detect_cgroups
from mcphost.runtimes.packages import PackageCache
from mcphost.runtimes.sandbox import DATA_DIR, Sandbox, SandboxLayout, command_mounts, exposes
from mcphost.runtimes.supervision import (
    LogBuffer,
    alive,
    descendants,
    group_members,
    living,
    pump_lines,
    signal_all,
    start_times,
    still_running,
)
from mcphost.settings import Settings

__all__ = ["ProcessInstance", "ProcessRuntime"]

log = logging.getLogger(__name__)

STDIO_LIMIT = 16 * 1024 * 1024
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
_KILL_WAIT = 10.0
_NODE_LIKE = frozenset({"node", "nodejs", "npx", "npm", "bun", "deno"})
_SIGNAL_EXIT_BASE = 128  # bubblewrap reports a program killed by signal N as exit code 128 + N


class ProcessInstance(Instance):
    """One server process (with bubblewrap in front of it when sandboxed)."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        *,
        id: str,
        transport: Transport,
        url: str | None,
        sandboxed: bool,
        group: ResourceGroup | None,
        log_stream: asyncio.StreamReader,
        max_log_lines: int,
    ) -> None:
        self.id = id
        self.transport = transport
        self.pid = process.pid
        self.sandboxed = sandboxed
        self.group = group
        #: Processes the kernel killed for exceeding the memory limit (known once exited, with a cgroup).
        self.oom_kills = 0
        self._process = process
        self._url = url
        self._code: int | None = None
        self._exited = asyncio.Event()
        self._stopping: dict[int, bytes] = {}
        self._doomed: set[int] = set()  # processes sent SIGKILL, waited for before the instance counts as exited
        self._logs = LogBuffer(max_lines=max_log_lines)
        self._log_task = asyncio.create_task(pump_lines(log_stream, self._logs), name=f"logs-{id}")
        self._watch_task = asyncio.create_task(self._watch(), name=f"watch-{id}")

    @property
    def stdio(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        if self.transport != "stdio" or self._process.stdout is None or self._process.stdin is None:
            return None
        return self._process.stdout, self._process.stdin

    @property
    def url(self) -> str | None:
        return self._url

    def log_lines(self) -> AsyncIterator[str]:
        """Its stderr lines until it exits (one consumer). Lines a slow consumer missed are counted and announced."""
        return self._logs.lines()

    @property
    def dropped_log_lines(self) -> int:
        return self._logs.dropped

    def last_log_lines(self, count: int = 20) -> list[str]:
        """The most recent lines, whether or not they were consumed (for an error report)."""
        return self._logs.tail(count)

    @property
    def exit_code(self) -> int | None:
        return self._code

    async def wait(self) -> int:
        await self._exited.wait()
        assert self._code is not None
        return self._code

    async def stop(self, grace: float) -> int:
        if self._exited.is_set():
            return await self.wait()
        # Everything of the server now running; stop() returns only once none of it runs any more.
        self._stopping = start_times([self.pid, *descendants(self.pid)])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(grace, 0.0)
        stdin = self._process.stdin
        if stdin is not None and grace > 0:
            stdin.close()  # MCP stdio shutdown: end of input first, signals after
            if await self._exits_within(grace / 2):
                return await self._gone()
        self._signal(signal.SIGTERM)
        if await self._exits_within(deadline - loop.time()):
            return await self._gone()
        self._kill()
        if not await self._exits_within(_KILL_WAIT):
            log.error("instance %s (pid %s) survived SIGKILL for %s s", self.id, self.pid, _KILL_WAIT)
        return await self._gone()

    async def _gone(self) -> int:
        """The exit code, once the processes seen when stopping began have all finished exiting (a process in
        the sandbox's pid namespace may still be on its way out when the launcher is already gone)."""
        code = await self.wait()
        for _ in range(int(_KILL_WAIT / 0.02)):
            stragglers = still_running(self._stopping)
            if not stragglers:
                break
            signal_all(stragglers, signal.SIGKILL)
            await asyncio.sleep(0.02)
        return code

    async def _exits_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(asyncio.shield(self._exited.wait()), max(seconds, 0.0))
        except TimeoutError:
            return False
        return True

    def _signal(self, signum: int) -> None:
        """Signal each of the server's processes once (a second SIGTERM could hit a server's exit path).

        Under the sandbox, the server's processes, not bubblewrap's: killing bubblewrap would SIGKILL everything."""
        tree = descendants(self.pid)
        if self.sandboxed:
            # The launcher's child is bubblewrap's init in the pid namespace; the server is below it.
            helpers = {self.pid, *(pid for pid, parent in tree.items() if parent == self.pid)}
            targets = set(tree) - helpers
        else:
            targets = {self.pid, *tree, *group_members(self.pid)}
            if self.group is not None:
                targets.update(self.group.pids())
        signal_all(targets, signum)

    def _kill(self, *, tree: bool = True) -> None:
        """SIGKILL everything: the process group, every descendant, every member of the cgroup. Once the main
        process is gone its pid may be reused, so its descendants are no longer looked for (``tree=False``)."""
        pids = list(descendants(self.pid)) if tree else []
        self._doomed.update(pids)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        signal_all(pids, signal.SIGKILL)
        if self.group is not None:
            self.group.kill()

    async def _watch(self) -> None:
        """Wait for the main process to exit, then clean up whatever it left (pipes close, the group is removed).

        A pidfd tells when it exits: ``Process.wait()`` only returns once its pipes are closed, which a leftover
        child holding stderr would prevent."""
        try:
            await self._main_exit()
            self._kill(tree=False)  # leftovers of an exited server belong to nobody
            code = await self._process.wait()
            if self.sandboxed and _SIGNAL_EXIT_BASE < code < _SIGNAL_EXIT_BASE + 32:
                code = _SIGNAL_EXIT_BASE - code
            for _ in range(100):  # a killed process takes a moment to be gone; stop() returns once it is
                if not alive(self.pid) and not living(self._doomed):
                    break
                self._kill(tree=False)
                await asyncio.sleep(0.02)
            if self.group is not None:
                self.oom_kills = self.group.oom_kills()
                for _ in range(50):
                    if self.group.remove():
                        break
                    self.group.kill()
                    await asyncio.sleep(0.02)
            self._code = code
        finally:
            if self._code is None:
                self._code = self._process.returncode if self._process.returncode is not None else -signal.SIGKILL
            self._exited.set()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._log_task), 5)

    async def _main_exit(self) -> None:
        try:
            fd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):  # gone already, or no pidfd (old kernel): wait the classic way
            await self._process.wait()
            return
        loop = asyncio.get_running_loop()
        exited = loop.create_future()
        loop.add_reader(fd, _resolve, exited)
        try:
            await exited
        finally:
            loop.remove_reader(fd)
            os.close(fd)


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
        self.limiter = Limiter(detect_cgroups() if cgroups == "auto" else cgroups)
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
                self._sandbox_problem = sandbox.probe()
                if self._sandbox_problem is None:
                    self._sandbox = sandbox
            self._sandbox_checked = True

    @property
    def sandboxed(self) -> bool:
        """Whether servers run under bubblewrap."""
        self._check_sandbox()
        return self._sandbox is not None

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
        enforced = set(self.limiter.enforced(address_space_ok=not _node_like(artifact)))
        if self.sandboxed:
            enforced.add("network_none")
        return frozenset(enforced)

    def warnings_for(self, limits: Limits, artifact: Artifact | None = None) -> list[str]:
        enforced = self.enforced_for(artifact)
        messages = list(self.warnings)
        if limits.cpu is not None and "cpu" not in enforced:
            messages.append("CPU limit is not enforced by the process runtime on this machine (no usable cgroups)")
        if limits.memory_mib is not None and "memory" not in enforced:
            reason = "no usable cgroups, and Node.js needs its address space" if _node_like(artifact) else "no cgroups"
            messages.append(f"memory limit is not enforced by the process runtime on this machine ({reason})")
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
            hidden.append(Path(url.split(":///", 1)[1].split("?", 1)[0]))
        return hidden

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
        for mount in artifact.mounts:
            if any(exposes(mount, secret) for secret in self._hidden_paths()):
                raise StartFailed(f"refusing to start {spec.slug}: {mount} would expose MCP Host's data directory")
        spec.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        transport, url, argv, extra_env = artifact.transport, artifact.url, list(artifact.argv), {}
        if transport == "streamable-http":
            if spec.limits.network == "none" and self._sandbox is not None:
                raise StartFailed("network: none cannot be used with a streamable-http server (it must be reachable)")
            port = _free_port()
            url = (url or "http://127.0.0.1:{port}/mcp").replace("{port}", str(port))
            argv = [argv[0], *(arg.replace("{port}", str(port)) for arg in argv[1:])]
            extra_env["PORT"] = str(port)
        env = self._environment(spec, artifact, extra_env)
        try:
            applied = self.limiter.apply(spec.slug, spec.limits, address_space_ok=not _node_like(artifact))
        except OSError as exc:
            raise StartFailed(f"cannot apply the resource limits of {spec.slug}: {exc}") from None
        if self._sandbox is not None:
            layout = SandboxLayout(
                read_only=artifact.mounts,
                data_dir=spec.data_dir,
                network=spec.limits.network != "none",
                hostname=spec.slug[:63] or "mcp-server",
            )
            argv = self._sandbox.argv(layout, argv)
        instance = await self._spawn(spec, argv, env, applied, transport, url)
        self._instances.add(instance)
        instance._watch_task.add_done_callback(lambda _: self._instances.discard(instance))
        return instance

    def _environment(self, spec: LaunchSpec, artifact: Artifact, extra: dict[str, str]) -> dict[str, str]:
        """The server's whole environment, from scratch: nothing of the platform's own leaks in."""
        bin_dir = artifact.details.get("bin_dir")
        path = f"{bin_dir}:{SYSTEM_PATH}" if bin_dir else SYSTEM_PATH
        home = DATA_DIR if self._sandbox is not None else str(spec.data_dir)
        env = {"PATH": path, "HOME": home, "LANG": "C.UTF-8", "TMPDIR": "/tmp", "PYTHONUNBUFFERED": "1"}  # noqa: S108
        env.update(extra)
        env.update(spec.env)
        return env

    async def _spawn(
        self, spec: LaunchSpec, argv: list[str], env: dict[str, str], applied: Applied, transport: Transport, url: Any
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
                limit=STDIO_LIMIT,
            )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            if applied.group is not None:
                applied.group.remove()
            raise StartFailed(f"cannot start {spec.slug} ({argv[0]}): {exc}") from None
        finally:
            applied.spawned()
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
        )

    async def close(self) -> None:
        """Stop every instance still running: nothing outlives the runtime."""
        instances = list(self._instances)
        await asyncio.gather(*(i.stop(self.options.stop_grace_seconds) for i in instances), return_exceptions=True)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


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
