"""A running server process of the process runtime: its MCP channel, its logs, its exit, and stopping it so that
nothing of it is left (process tree, process group, cgroup, network helper)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal

from mcphost.runtimes.base import Transport
from mcphost.runtimes.process.limits import ResourceGroup
from mcphost.runtimes.process.network import Attached
from mcphost.runtimes.process.process_tree import (
    alive,
    descendants,
    group_members,
    living,
    signal_all,
    start_times,
    still_running,
)
from mcphost.runtimes.watched import WatchedInstance

__all__ = ["ProcessInstance"]

log = logging.getLogger(__name__)

_KILL_WAIT = 10.0
_SIGNAL_EXIT_BASE = 128  # bubblewrap reports a program killed by signal N as exit code 128 + N


class ProcessInstance(WatchedInstance):
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
        sandbox_depth: int = 2,
        network: Attached | None = None,
        uid: int | None = None,
    ) -> None:
        super().__init__(name=id, url=url, log_stream=log_stream, max_log_lines=max_log_lines)
        self.id = id
        self.transport = transport
        self.pid = process.pid
        self.sandboxed = sandboxed
        self.group = group
        #: The host uid the server runs as (None: MCP Host's own)
        self.uid = uid
        #: The helper giving its network namespace outbound access (pasta, slirp4netns), ended with the server
        self.network = network
        self._depth = sandbox_depth
        #: Processes the kernel killed for exceeding the memory limit (known once exited, with a cgroup).
        self.oom_kills = 0
        self._process = process
        self._stopping: dict[int, bytes] = {}
        self._doomed: set[int] = set()  # processes sent SIGKILL, waited for before the instance counts as exited
        self._watch_task = asyncio.create_task(self._watch(), name=f"watch-{id}")

    @property
    def stdio(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        if self.transport != "stdio" or self._process.stdout is None or self._process.stdin is None:
            return None
        return self._process.stdout, self._process.stdin

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

    def _signal(self, signum: int) -> None:
        """Signal each of the server's processes once (a second SIGTERM could hit a server's exit path).

        Under the sandbox, the server's processes, not bubblewrap's: killing bubblewrap would SIGKILL everything."""
        tree = descendants(self.pid)
        if self.sandboxed:
            # bubblewrap, its init in the pid namespace (and, as root, the inner bubblewrap of the user namespace):
            # the server is below them. Signalled, they would take the server down with them at once.
            helpers = {self.pid}
            for _ in range(self._depth - 1):
                helpers |= {pid for pid, parent in tree.items() if parent in helpers}
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
            if self.network is not None:
                await self.network.wait_closed()
            returned = self._process.returncode
            await self._exited_with(returned if returned is not None else -signal.SIGKILL)

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


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
