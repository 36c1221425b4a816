"""Extra instances of a server for ``per_user`` and ``per_session`` isolation, started on demand by the gateway.

The node agent still runs each server's main instance (status, capability sync, health). An extra instance is
started from the same prepared artifact when a principal (``per_user``) or a client session (``per_session``)
first needs it, is initialised with that client's capabilities, and is stopped when idle, when its session ends,
or when the server stops or changes. It is not restarted when it exits: the next request starts a new one. At most
``gateway.max_instances_per_server`` run per server."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

from mcphost.errors import AppError
from mcphost.mcp.session import McpSession
from mcphost.models import DesiredState, LogStream
from mcphost.runtimes.base import RuntimeFailure
from mcphost.servers.launch import launch_spec, runtime_source

if TYPE_CHECKING:
    from mcphost.servers.agent import NodeAgent, Running

log = logging.getLogger(__name__)


class InstanceUnavailable(AppError):
    status_code = 503
    code = "instance_unavailable"


class InstancePool:
    def __init__(self, agent: NodeAgent) -> None:
        self.agent = agent
        self._instances: dict[tuple[uuid.UUID, str], Running] = {}
        self._starting: dict[tuple[uuid.UUID, str], asyncio.Future[Running]] = {}

    def count(self, server_id: uuid.UUID) -> int:
        return sum(1 for sid, _ in self._instances if sid == server_id)

    def get(self, server_id: uuid.UUID, key: str) -> Running | None:
        running = self._instances.get((server_id, key))
        if running is not None and running.instance.exit_code is None and not running.stopping:
            running.last_used = time.monotonic()
            return running
        return None

    async def acquire(
        self, server_id: uuid.UUID, key: str, *, capabilities: dict[str, Any], client_info: dict[str, Any] | None
    ) -> Running:
        """The instance for ``key``, started if there is none."""
        running = self.get(server_id, key)
        if running is not None:
            return running
        starting = self._starting.get((server_id, key))
        if starting is not None:
            return await asyncio.shield(starting)
        limit = self.agent.platform.settings.gateway.max_instances_per_server
        if self.count(server_id) + sum(1 for sid, _ in self._starting if sid == server_id) >= limit:
            raise InstanceUnavailable(f"This server already runs {limit} instances; try again when one is idle.")
        future: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
        self._starting[(server_id, key)] = future
        try:
            running = await self._start(server_id, key, capabilities, client_info)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # read: waiters get it through their own await
            raise
        else:
            future.set_result(running)
            self._instances[(server_id, key)] = running
            return running
        finally:
            del self._starting[(server_id, key)]

    async def _start(
        self, server_id: uuid.UUID, key: str, capabilities: dict[str, Any], client_info: dict[str, Any] | None
    ) -> Running:
        from mcphost.servers.agent import Running, connect, initialize, relay_through_mux

        agent = self.agent
        platform = agent.platform
        server = await agent.load(server_id)
        if server is None or server.desired_state is DesiredState.STOPPED:
            raise InstanceUnavailable("This server is stopped; start it first.")
        runtime = platform.runtimes.get(server.runtime)

        async def progress(line: str) -> None:
            agent.say(server_id, f"[{key}] {line}")

        try:
            artifact = await runtime.prepare(runtime_source(server), progress)
            instance = await runtime.start(launch_spec(server, artifact, platform.keys, platform.settings.home, key))
        except RuntimeFailure as exc:
            raise InstanceUnavailable(f"Could not start an instance: {exc}") from None
        running = Running(server.id, server.slug, server.generation, instance)
        running.tasks.append(asyncio.create_task(self._pump_logs(running, key), name=f"logs:{server.slug}:{key}"))
        timeout = agent.settings.start_timeout_seconds
        try:
            connection = connect(instance, f"{server.slug}/{key}")
            running.connection = connection
            running.session = session = McpSession(connection, timeout=timeout)
            async with asyncio.timeout(timeout):
                await initialize(session, capabilities, client_info)
        except Exception as exc:
            await instance.stop(agent.settings.stop_grace_seconds)
            if running.connection is not None:
                await running.connection.close()
            raise InstanceUnavailable(f"The instance did not complete the MCP handshake: {exc}") from None
        relay_through_mux(running, platform.settings.gateway.request_timeout_seconds)
        running.tasks.append(asyncio.create_task(self._watch(running, key), name=f"watch:{server.slug}:{key}"))
        agent.say(server_id, f"[{key}] instance started")
        return running

    async def _pump_logs(self, running: Running, key: str) -> None:
        async for line in running.instance.log_lines():
            self.agent.logs.add(running.server_id, LogStream.STDERR, f"[{key}] {line}")

    async def _watch(self, running: Running, key: str) -> None:
        code = await running.instance.wait()
        if self._instances.get((running.server_id, key)) is running:
            del self._instances[(running.server_id, key)]
        if running.connection is not None:
            await running.connection.close()
        if not running.stopping:
            self.agent.say(running.server_id, f"[{key}] instance exited with code {code}")

    async def release(self, server_id: uuid.UUID, key: str) -> None:
        running = self._instances.pop((server_id, key), None)
        if running is not None:
            await self._stop(running)
            self.agent.say(server_id, f"[{key}] instance stopped")

    async def stop_server(self, server_id: uuid.UUID) -> None:
        keys = [key for key in self._instances if key[0] == server_id]
        await asyncio.gather(*(self.release(*key) for key in keys))

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.release(*key) for key in list(self._instances)))

    async def reap_idle(self, idle_seconds: float) -> None:
        """Stop instances nobody used for ``idle_seconds``."""
        cutoff = time.monotonic() - idle_seconds
        idle = [key for key, running in self._instances.items() if running.last_used < cutoff]
        await asyncio.gather(*(self.release(*key) for key in idle))

    async def _stop(self, running: Running) -> None:
        running.stopping = True
        await running.instance.stop(self.agent.settings.stop_grace_seconds)
        if running.connection is not None:
            await running.connection.close()
        for task in running.tasks:
            if not task.done() and task is not asyncio.current_task():
                task.cancel()
