"""Extra instances of a server for ``per_user`` and ``per_session`` isolation, started on demand by the gateway.

The node agent still runs each server's main instance (status, capability sync, health). An extra instance is
started from the same prepared artifact when a principal (``per_user``) or a client session (``per_session``)
first needs it, is initialised with that client's capabilities, and is stopped when idle, when its session ends,
or when the server stops or changes. It is not restarted when it exits: the next request starts a new one.

At most the server's ``max_instances`` (default ``gateway.max_instances_per_server``) run per server. Many clients
open sessions and never end them, so at the cap a new client does not wait for the idle timeout: the least
recently used instance with no request in flight is ended for it (an eviction: counted on the server, as a usage
event and a Prometheus counter; listeners, the gateway, end the session it served, whose client then starts a new
one). Only when every instance is busy is the new client refused (503). The server's ``idle_seconds`` (default
``gateway.session_idle_seconds``) stops instances nobody used for that long. Both are read from the server when an
instance starts, not per request."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mcphost.credentials.store import missing_message, values_for
from mcphost.errors import AppError
from mcphost.integrations.store import attached_env
from mcphost.mcp.session import McpSession
from mcphost.models import DesiredState, LogStream, Server
from mcphost.runtimes.base import RuntimeFailure
from mcphost.servers.launch import launch_spec, runtime_source
from mcphost.servers.logs import LogSink
from mcphost.servers.node_parts import NodeParts
from mcphost.servers.repository import ServerRepository
from mcphost.servers.running import Running, connect, initialize, relay_through_mux
from mcphost.servers.service import add_usage

#: Called with (server id, instance key) when the pool ends an instance on its own (evicted at the cap, or idle),
#: before it is stopped: whoever bound a client session to it ends that session.
EndedListener = Callable[[uuid.UUID, str], None]

log = logging.getLogger(__name__)


class InstanceUnavailable(AppError):
    status_code = 503
    code = "instance_unavailable"


class CredentialsRequired(AppError):
    """The server takes values from each user (``per_user_env``) and this user has not set them all."""

    status_code = 409
    code = "credentials_required"


@dataclass(frozen=True, slots=True)
class InstanceLimits:
    """A server's cap on extra instances and the idle time of its sessions and instances."""

    max_instances: int
    idle_seconds: float


class InstancePool:
    """The extra instances of this node's servers, started from the ``parts`` the node agent shares with it; their
    output and the pool's own lines go to the agent's ``logs``."""

    def __init__(self, parts: NodeParts, logs: LogSink) -> None:
        self.parts = parts
        self.settings = parts.settings.runtime
        self.logs = logs
        self._instances: dict[tuple[uuid.UUID, str], Running] = {}
        self._starting: dict[tuple[uuid.UUID, str], asyncio.Future[Running]] = {}
        self._limits: dict[uuid.UUID, InstanceLimits] = {}
        self._ended_listeners: list[EndedListener] = []
        #: Evicted instances being stopped and evictions being recorded, off the new client's path.
        self._background: set[asyncio.Task[None]] = set()

    def count(self, server_id: uuid.UUID) -> int:
        return sum(1 for sid, _ in self._instances if sid == server_id)

    def get(self, server_id: uuid.UUID, key: str) -> Running | None:
        running = self._instances.get((server_id, key))
        if running is not None and running.instance.exit_code is None and not running.stopping:
            running.last_used = time.monotonic()
            return running
        return None

    def on_ended(self, listener: EndedListener) -> None:
        """Be told of each instance the pool ends on its own (evicted, or idle), before it stops."""
        self._ended_listeners.append(listener)

    def _tell_ended(self, server_id: uuid.UUID, key: str) -> None:
        for listener in self._ended_listeners:
            try:
                listener(server_id, key)
            except Exception:
                log.exception("a listener of ended instances failed for %s/%s", server_id, key)

    async def limits(self, server_id: uuid.UUID) -> InstanceLimits:
        """The server's limits: remembered from its last instance start, else read once from the database."""
        known = self._limits.get(server_id)
        if known is not None:
            return known
        return self._remember(server_id, await self._load(server_id))

    def forget_limits(self, server_id: uuid.UUID) -> None:
        """The server changed: read its limits again when next needed."""
        self._limits.pop(server_id, None)

    def _remember(self, server_id: uuid.UUID, server: Server | None) -> InstanceLimits:
        defaults = self.parts.settings.gateway
        limits = InstanceLimits(
            (server.max_instances if server else None) or defaults.max_instances_per_server,
            float((server.idle_seconds if server else None) or defaults.session_idle_seconds),
        )
        self._limits[server_id] = limits
        return limits

    async def acquire(
        self,
        server_id: uuid.UUID,
        key: str,
        *,
        capabilities: dict[str, Any],
        client_info: dict[str, Any] | None,
        user_id: uuid.UUID | None = None,
    ) -> Running:
        """The instance for ``key``, started if there is none (ending the least recently used idle one at the
        cap); ``InstanceUnavailable`` when the server is stopped or every instance at the cap is busy."""
        running = self.get(server_id, key)
        if running is not None:
            return running
        starting = self._starting.get((server_id, key))
        if starting is not None:
            return await asyncio.shield(starting)
        future: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
        self._starting[(server_id, key)] = future
        try:
            server = await self._load(server_id)
            if server is None or server.desired_state is DesiredState.STOPPED:
                raise InstanceUnavailable("This server is stopped; start it first.")
            limits = self._remember(server_id, server)
            self._make_room(server, key, limits.max_instances)
            running = await self._start(server, key, capabilities, client_info, user_id)
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

    def _make_room(self, server: Server, key: str, limit: int) -> None:
        """Evict the least recently used idle instances until the one being started (counted among those starting)
        fits under the cap."""
        server_id = server.id
        starting = sum(1 for sid, _ in self._starting if sid == server_id)
        excess = self.count(server_id) + starting - limit
        if excess <= 0:
            return
        idle = sorted(
            (running.last_used, other)
            for (sid, other), running in self._instances.items()
            if sid == server_id and other != key and (running.mux is None or not running.mux.busy)
        )
        if len(idle) < excess:
            raise InstanceUnavailable(
                f"This server already runs {limit} instances and all are busy; try again in a moment.",
                headers={"Retry-After": "2"},
            )
        for _, other in idle[:excess]:
            self._evict(server, other, self._instances.pop((server_id, other)), limit)

    def _evict(self, server: Server, key: str, running: Running, limit: int) -> None:
        """End an instance to make room: its session's holder is told at once; stopping it (which may take the
        stop grace period) and recording the eviction happen in the background."""
        idle_for = time.monotonic() - running.last_used
        running.stopping = True
        self.parts.metrics.instance_evictions.labels(server.slug).inc()
        self._tell_ended(server.id, key)
        self._say(
            server.id,
            f"[{key}] instance ended to let a new client in: {limit} instances is the cap and it was the least "
            f"recently used idle one (unused for {idle_for:.0f} s)",
        )
        self._in_background(self._stop(running))
        self._in_background(
            self._record_eviction(server.id, {"instance": key, "idle_seconds": round(idle_for), "cap": limit})
        )

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._done_in_background)

    def _done_in_background(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("stopping or recording an instance in the background failed", exc_info=task.exception())

    async def _record_eviction(self, server_id: uuid.UUID, data: dict[str, Any]) -> None:
        """Count the eviction on the server and record it as a usage event, off the client's path."""
        async with self.parts.db.session_scope() as session:
            await session.execute(
                sa.update(Server).where(Server.id == server_id).values(evictions=Server.evictions + 1)
            )
            server = await ServerRepository(session).get(server_id)
            if server is not None:
                add_usage(session, server, "evict", data)

    async def _start(
        self,
        server: Server,
        key: str,
        capabilities: dict[str, Any],
        client_info: dict[str, Any] | None,
        user_id: uuid.UUID | None,
    ) -> Running:
        parts = self.parts
        own = await self._own_values(server, user_id)
        server_id = server.id
        runtime = parts.runtimes.get(server.runtime)

        async def progress(line: str) -> None:
            self._say(server_id, f"[{key}] {line}")

        try:
            artifact = await runtime.prepare(runtime_source(server, parts.keys), progress)
            secrets = await parts.secret_store.read(server.id, server.secret_env or {}) | own
            secrets |= await attached_env(parts.db, parts.keys, server.id)
            instance = await runtime.start(launch_spec(server, artifact, secrets, parts.settings.home, key))
        except RuntimeFailure as exc:
            raise InstanceUnavailable(f"Could not start an instance: {exc}") from None
        except AppError as exc:  # the secret store (Vault) could not be read
            raise InstanceUnavailable(f"Could not start an instance: {exc.message}") from None
        running = Running(server.id, server.slug, server.generation, instance, user_id=user_id)
        running.tasks.append(asyncio.create_task(self._pump_logs(running, key), name=f"logs:{server.slug}:{key}"))
        timeout = self.settings.start_timeout_seconds
        try:
            connection = connect(instance, f"{server.slug}/{key}")
            running.connection = connection
            running.session = session = McpSession(connection, timeout=timeout)
            async with asyncio.timeout(timeout):
                await initialize(session, capabilities, client_info)
        except Exception as exc:
            await instance.stop(self.settings.stop_grace_seconds)
            if running.connection is not None:
                await running.connection.close()
            raise InstanceUnavailable(f"The instance did not complete the MCP handshake: {exc}") from None
        relay_through_mux(running, parts.settings.gateway.request_timeout_seconds)
        running.tasks.append(asyncio.create_task(self._watch(running, key), name=f"watch:{server.slug}:{key}"))
        self._say(server_id, f"[{key}] instance started")
        return running

    async def _own_values(self, server: Server, user_id: uuid.UUID | None) -> dict[str, str]:
        """The user's own values of the server's per-user variables; CredentialsRequired when some are not set."""
        if not server.per_user_env:
            return {}
        if not self.parts.runtimes.get(server.runtime).isolates_instances:
            raise InstanceUnavailable(
                f"{server.slug} takes credentials from each user, and this node runs its servers without the sandbox: "
                "one user's instance could read another's. An administrator enables the sandbox (bubblewrap) or "
                "runs it on Docker."
            )
        values: dict[str, str] = {}
        if user_id is not None:
            async with self.parts.db.session_scope() as session:
                values = await values_for(session, self.parts.keys, server, user_id)
        missing = [name for name in server.per_user_env if name not in values]
        if missing:
            raise CredentialsRequired(
                missing_message(server, missing, self.parts.settings.effective_public_url),
                details={"missing": missing},
            )
        return values

    async def _pump_logs(self, running: Running, key: str) -> None:
        async for line in running.instance.log_lines():
            self.logs.add(running.server_id, LogStream.STDERR, f"[{key}] {line}")

    async def _watch(self, running: Running, key: str) -> None:
        code = await running.instance.wait()
        if self._instances.get((running.server_id, key)) is running:
            del self._instances[(running.server_id, key)]
        if running.connection is not None:
            await running.connection.close()
        if not running.stopping:
            self._say(running.server_id, f"[{key}] instance exited with code {code}")

    async def release(self, server_id: uuid.UUID, key: str) -> None:
        running = self._instances.pop((server_id, key), None)
        if running is not None:
            await self._stop(running)
            self._say(server_id, f"[{key}] instance stopped")

    async def release_user(self, server_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """Stop the user's own instances of the server (their credentials changed; the next request starts anew)."""
        ours = [key for key, running in self._instances.items() if key[0] == server_id and running.user_id == user_id]
        await asyncio.gather(*(self.release(*key) for key in ours))

    async def stop_server(self, server_id: uuid.UUID) -> None:
        keys = [key for key in self._instances if key[0] == server_id]
        await asyncio.gather(*(self.release(*key) for key in keys))

    def retire_server(self, server_id: uuid.UUID) -> None:
        """A new generation of the server serves: its instances take no new client (the next request of each starts
        one of the new generation) and each stops once its calls in flight have finished."""
        for key in [key for key in self._instances if key[0] == server_id]:
            running = self._instances.pop(key)
            self._in_background(self._retire(running, key[1]))

    async def _retire(self, running: Running, key: str) -> None:
        await running.drain(self.parts.settings.gateway.request_timeout_seconds)
        await self._stop(running)
        self._say(running.server_id, f"[{key}] instance of the previous generation stopped")

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.release(*key) for key in list(self._instances)))
        if self._background:
            await asyncio.wait(set(self._background), timeout=10)

    async def reap_idle(self, default_idle_seconds: float) -> None:
        """Stop instances nobody used for their server's idle time (``default_idle_seconds`` when unknown)."""
        now = time.monotonic()
        idle = [
            key
            for key, running in self._instances.items()
            if now - running.last_used > self._idle_seconds(key[0], default_idle_seconds)
            and (running.mux is None or not running.mux.busy)
        ]
        for server_id, key in idle:
            self._tell_ended(server_id, key)
        await asyncio.gather(*(self.release(*key) for key in idle))

    def _idle_seconds(self, server_id: uuid.UUID, default: float) -> float:
        limits = self._limits.get(server_id)
        return limits.idle_seconds if limits is not None else default

    async def _stop(self, running: Running) -> None:
        running.stopping = True
        await running.instance.stop(self.settings.stop_grace_seconds)
        if running.connection is not None:
            await running.connection.close()
        for task in running.tasks:
            if not task.done() and task is not asyncio.current_task():
                task.cancel()

    def _say(self, server_id: uuid.UUID, line: str) -> None:
        self.logs.add(server_id, LogStream.PLATFORM, line)

    async def _load(self, server_id: uuid.UUID) -> Server | None:
        async with self.parts.db.session_scope() as session:
            return await ServerRepository(session).get(server_id)
