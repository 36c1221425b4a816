"""The node agent: makes the servers hosted by this node match their desired state, through durable jobs.

It prepares and starts instances, completes the MCP handshake and syncs capabilities before calling a server
running, watches for exits (restarting with capped exponential backoff, and giving up with ``error`` after a
crash loop), pings running servers, and stops what should not run. At start it brings back the servers that
should be running; at shutdown it stops them (they come back on the next start)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from mcphost.db.base import utcnow
from mcphost.db.session import Database
from mcphost.errors import AppError
from mcphost.integrations.registry import provisioners
from mcphost.integrations.store import attached_env
from mcphost.jobs.registry import JobContext, JobRegistry
from mcphost.mcp.jsonrpc import ConnectionClosed, JsonRpcError
from mcphost.mcp.mux import UpstreamMux
from mcphost.mcp.session import McpSession, ProtocolError
from mcphost.models import DesiredState, LogStream, Server, ServerStatus
from mcphost.nodes.identity import machine_id
from mcphost.pinning import service as pinning
from mcphost.revisions.record import record_resolved
from mcphost.runtimes.base import BuildPhase, PrepareReporter, RuntimeFailure, reporting
from mcphost.servers import endpoints, lifecycle_jobs
from mcphost.servers.instances import InstancePool
from mcphost.servers.launch import launch_spec, runtime_source
from mcphost.servers.logs import LogSink
from mcphost.servers.node_parts import NodeParts
from mcphost.servers.repository import ServerRepository
from mcphost.servers.running import RELAYED_CLIENT_CAPABILITIES, Running, connect, initialize, relay_through_mux
from mcphost.servers.status import record_usage, transition

log = logging.getLogger(__name__)
SHARED = "shared"
HEALTHY_AFTER_SECONDS = 60.0
_HANDSHAKE_ERRORS = (TimeoutError, ConnectionClosed, JsonRpcError, ProtocolError)


class NodeAgent:
    """Hosts this node's servers with the ``parts`` it is given (settings, database, keys, runtimes, metrics)."""

    def __init__(self, parts: NodeParts) -> None:
        self.parts = parts
        self.settings = parts.settings.runtime
        self.logs = LogSink(parts.db, parts.settings.server_logs)
        self.running: dict[uuid.UUID, Running] = {}
        self._locks: defaultdict[uuid.UUID, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._syncs: dict[uuid.UUID, asyncio.Task[None]] = {}
        #: list_changed notifications waiting for their sync, relayed once it is recorded.
        self._deferred: dict[uuid.UUID, list[dict[str, Any]]] = {}
        self.instances = InstancePool(parts, self.logs)

    @property
    def node(self) -> str:
        return self.settings.node_name

    def register_jobs(self, registry: JobRegistry) -> None:
        registry.register(lifecycle_jobs.RECONCILE, self._reconcile_job)
        registry.register(lifecycle_jobs.TEARDOWN, self._teardown_job)

    async def start(self) -> None:
        await self.logs.start()
        await self.parts.runtimes.remove_leftovers()
        await self._bring_back()

    async def stop(self) -> None:
        await self.instances.stop_all()
        for running in list(self.running.values()):
            self.say(running.server_id, "stopping: the platform is shutting down")
            await self._stop_instance(running)
        await self.logs.stop()

    # -- jobs -----------------------------------------------------------------------------------------------------

    async def _reconcile_job(self, context: JobContext) -> dict[str, Any] | None:
        payload = context.payload
        await self.reconcile(
            lifecycle_jobs.server_id_of(payload),
            prepare=lifecycle_jobs.prepare_flags_of(payload),
            restart=bool(payload.get("restart")),
        )
        return None

    async def _teardown_job(self, context: JobContext) -> dict[str, Any] | None:
        server_id = lifecycle_jobs.server_id_of(context.payload)
        await self.teardown(server_id)
        # What a runtime keeps outside this node for a server (Kubernetes: its workloads, Secrets, volume claims).
        await self.parts.runtimes.get(str(context.payload.get("runtime") or "process")).forget(str(server_id))
        # The deleted server's attached services (a store that is down fails the job, which is retried; each drop
        # is idempotent).
        stores = provisioners(self.parts.settings.integrations)
        for attached in context.payload.get("detach") or ():
            await stores[attached["kind"]].drop(attached["resource"], attached["username"])
        return None

    async def _bring_back(self) -> None:
        """After a (re)start of the platform, servers that should run here are started again."""
        async with self.parts.db.session_scope() as session:
            servers = await session.scalars(
                sa.select(Server).where(Server.node == self.node, Server.desired_state == DesiredState.RUNNING)
            )
            for server in servers:
                if server.status is not ServerStatus.ERROR:
                    server.status, server.status_reason = ServerStatus.PENDING, "waiting to start after a restart"
                    await lifecycle_jobs.enqueue_reconcile(session, server)

    # -- reconciling ----------------------------------------------------------------------------------------------

    async def reconcile(
        self, server_id: uuid.UUID, *, prepare: dict[str, bool] | None = None, restart: bool = False
    ) -> None:
        """``prepare``: flags added to the source for the runtime's ``prepare`` (a redeploy's ``refresh``,
        ``no_cache``, ``pull``); ``restart``: stop what serves before starting anew instead of replacing it."""
        prepare = prepare or {}
        async with self._locks[server_id]:
            server = await self.load(server_id)
            current = self.running.get(server_id)
            if server is None:
                await self.instances.stop_server(server_id)
                if current is not None:
                    await self._stop_instance(current)
                return
            if server.desired_state is DesiredState.STOPPED:
                await self.instances.stop_server(server_id)
                await self._bring_down(server, current)
                return
            if server.consecutive_crashes >= self.settings.crash_loop_restarts:
                return  # given up (crash loop or failed start) until the user starts it again
            serving = current is not None and current.instance.exit_code is None and current.mux is not None
            if (
                serving
                and current is not None
                and not prepare
                and server.generation in (current.generation, current.declined_generation)
            ):
                return  # up to date, or this generation already failed to replace it
            if serving and current is not None and not restart:
                await self._replace(server, current, prepare=prepare)
                return
            if current is not None:
                await self._stop_instance(current)
            await self.instances.stop_server(server_id)
            await self._launch(server, prepare=prepare)

    async def _bring_down(self, server: Server, current: Running | None) -> None:
        if current is None:
            if server.status is not ServerStatus.STOPPED:
                await transition(self.parts.db, server.id, ServerStatus.STOPPED)
            return
        await transition(self.parts.db, server.id, ServerStatus.STOPPING)
        self.say(server.id, "stopping")
        code = await self._stop_instance(current)
        await transition(
            self.parts.db,
            server.id,
            ServerStatus.STOPPED,
            usage="stop",
            usage_data={"exit_code": code},
            last_exit_code=code,
        )
        self.parts.metrics.server_up.labels(server.slug).set(0)

    def _build_reporter(self, server_id: uuid.UUID, status: Callable[[str], StatusChange]) -> PrepareReporter:
        """A build's phases are shown in the server's status (``status`` says how), its telemetry becomes usage
        events (build_*, tag_*, push_*, auth_refresh_*: docs/builds.md), listed with the server's metrics."""
        db = self.parts.db

        async def phase(name: BuildPhase) -> None:
            await _show(db, server_id, status(name))

        async def event(kind: str, payload: dict[str, Any]) -> None:
            await record_usage(db, server_id, kind, payload)

        return PrepareReporter(phase=phase, event=event)

    async def _launch(self, server: Server, *, prepare: dict[str, bool]) -> None:
        """Start the server when nothing of it serves: its status goes through the steps of its start."""
        db = self.parts.db
        await transition(db, server.id, ServerStatus.INSTALLING)
        started = await self._start_generation(server, prepare=prepare, status=lambda step: (ServerStatus(step), None))
        if isinstance(started, Failed):
            await self._give_up(server, started.reason, started.recent)
            return
        await self._go_live(server, started, usage_data={"generation": server.generation})

    async def _replace(self, server: Server, current: Running, *, prepare: dict[str, bool]) -> None:
        """Redeploy without downtime: the new generation is prepared and started beside the serving instance, which
        keeps answering until the new one has completed the MCP handshake; then the traffic moves to the new one and
        the old one stops once its calls in flight have finished. If the new one fails, the old one keeps serving."""
        db = self.parts.db
        old, new = current.revision, server.revision
        self.say(server.id, f"redeploying: revision {new} starts beside revision {old}, which serves until it is ready")

        def status(step: str) -> StatusChange:
            return ServerStatus.UPDATING, f"revision {new}: {step}; revision {old} serves meanwhile"

        await _show(db, server.id, status("installing"))
        started = await self._start_generation(server, prepare=prepare, status=status)
        if isinstance(started, Failed):
            current.declined_generation = server.generation
            reason = f"the redeploy to revision {new} failed ({started.reason}); revision {old} still serves"
            self.say(server.id, reason)
            await transition(
                db,
                server.id,
                ServerStatus.RUNNING,
                reason=reason + ("\n--- last output ---\n" + "\n".join(started.recent) if started.recent else ""),
                usage="redeploy_failed",
                usage_data={"revision": new, "serving_revision": old, "reason": started.reason},
            )
            return
        await self._go_live(server, started, usage_data={"generation": server.generation, "replaced_revision": old})
        current.stopping = True  # its exit is not a crash; what is in flight still finishes
        assert started.running.mux is not None and current.mux is not None
        await started.running.mux.subscribe(started.running.mux.take_over(current.mux))
        self.instances.retire_server(server.id)
        drained = await current.drain(self.parts.settings.gateway.request_timeout_seconds)
        code = await self._stop_instance(current)
        self.say(
            server.id,
            f"revision {old} stopped (exit code {code}) "
            + ("after its calls in flight finished" if drained else "with calls still in flight after the timeout"),
        )

    async def _start_generation(
        self, server: Server, *, prepare: dict[str, bool], status: Callable[[str], StatusChange]
    ) -> Started | Failed:
        """Prepare the server's source, start an instance and complete the MCP handshake, showing each step through
        ``status``; the instance is not yet the one the gateway relays to."""
        runtime = self.parts.runtimes.get(server.runtime)
        db = self.parts.db
        source = runtime_source(server, self.parts.keys) | prepare

        async def progress(line: str) -> None:
            self.say(server.id, line)

        try:
            with reporting(self._build_reporter(server.id, status)):
                artifact = await runtime.prepare(source, progress)
        except RuntimeFailure as exc:
            failed = "build failed" if server.source.get("type") == "git" else "installation failed"
            return Failed(f"{failed}: {exc}")
        if not artifact.details.get("cached", True):
            await record_usage(db, server.id, "install", {"details": _plain(artifact.details)})
        await record_resolved(db, server.id, server.revision, artifact.details)
        await _show(db, server.id, status("starting"))
        try:
            secrets = await self.parts.secret_store.read(server.id, server.secret_env or {})
            secrets |= await attached_env(self.parts.db, self.parts.keys, server.id)
        except AppError as exc:  # Vault down, a token refused, a value missing there
            return Failed(f"could not read its secrets: {exc.message}")
        spec = launch_spec(server, artifact, secrets, self.parts.settings.home, SHARED)
        spec.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            instance = await runtime.start(spec)
        except RuntimeFailure as exc:
            return Failed(f"could not start: {exc}")
        running = Running(server.id, server.slug, server.generation, instance, revision=server.revision)
        running.tasks.append(asyncio.create_task(self._pump_logs(running), name=f"logs:{server.slug}"))
        try:
            async with asyncio.timeout(self.settings.start_timeout_seconds):
                manifest, capabilities = await self._handshake(running)
        except _HANDSHAKE_ERRORS as exc:
            code = await self._stop_instance(running)
            await asyncio.sleep(0)
            why = "did not answer the MCP handshake in time" if isinstance(exc, TimeoutError) else _describe(exc, code)
            return Failed(f"failed to start: {why}", list(running.recent))
        return Started(running, manifest, capabilities, runtime.warnings_for(spec.limits, spec.artifact))

    async def _go_live(self, server: Server, started: Started, *, usage_data: dict[str, Any]) -> None:
        """The started instance is the one the gateway relays to, watched and pinged from now on."""
        running = started.running
        # Recorded before the first client can list them: a changed definition is held from the start.
        await self._record_definitions(server.id, started.capabilities)
        self.running[server.id] = running
        # Other replicas relay to an HTTP instance directly (ADR 0015): where, before clients hear it runs.
        await endpoints.record(self.parts.db, self.parts.keys, running, node=self.node, machine=machine_id())
        # Said before the status changes, so whoever sees "running" finds the line in the logs too.
        self.say(server.id, f"running ({started.manifest.get('serverInfo', {}).get('name', 'server')})")
        await transition(
            self.parts.db,
            server.id,
            ServerStatus.RUNNING,
            usage="start",
            usage_data=usage_data,
            manifest=started.manifest,
            capabilities=started.capabilities,
            capabilities_synced_at=utcnow(),
            last_started_at=utcnow(),
            warnings=started.warnings,
        )
        self.parts.metrics.server_up.labels(server.slug).set(1)
        running.tasks.append(asyncio.create_task(self._watch(running), name=f"watch:{server.slug}"))
        running.tasks.append(asyncio.create_task(self._check_health(running), name=f"health:{server.slug}"))

    async def _handshake(self, running: Running) -> tuple[dict[str, Any], dict[str, Any]]:
        connection = connect(running.instance, running.slug)
        running.connection = connection
        running.session = session = McpSession(connection, timeout=self.settings.start_timeout_seconds)
        exited = asyncio.ensure_future(running.instance.wait())
        handshake = asyncio.ensure_future(self._initialize(session))
        done, _ = await asyncio.wait({exited, handshake}, return_when=asyncio.FIRST_COMPLETED)
        if handshake not in done:
            handshake.cancel()
            raise ConnectionClosed(f"exited with code {exited.result()}")
        exited.cancel()
        mux = relay_through_mux(running, self.parts.settings.gateway.request_timeout_seconds)
        connection.on_notification(lambda message: self._on_notification(running, mux, message))
        return handshake.result()

    # -- watching -------------------------------------------------------------------------------------------------

    @staticmethod
    async def _initialize(session: McpSession) -> tuple[dict[str, Any], dict[str, Any]]:
        manifest = await initialize(session, RELAYED_CLIENT_CAPABILITIES)
        return manifest.to_dict(), await session.capabilities()

    async def _pump_logs(self, running: Running) -> None:
        async for line in running.instance.log_lines():
            running.recent.append(line)
            self.logs.add(running.server_id, LogStream.STDERR, line)

    async def _watch(self, running: Running) -> None:
        code = await running.instance.wait()
        if running.stopping:
            return
        async with self._locks[running.server_id]:
            await self._close(running)
            if self.running.get(running.server_id) is not running:
                return  # replaced by a newer generation meanwhile: what serves now is that one
            del self.running[running.server_id]
            await endpoints.clear(self.parts.db, running.server_id, running.generation)
            await self._after_crash(running, code)

    async def _after_crash(self, running: Running, code: int) -> None:
        server = await self.load(running.server_id)
        if server is None:
            return
        crashes = server.consecutive_crashes + 1
        why = running.kill_reason or running.instance.exit_reason or f"exited with code {code}"
        self.parts.metrics.server_up.labels(server.slug).set(0)
        self.parts.metrics.server_crashes.labels(server.slug).inc()
        if crashes >= self.settings.crash_loop_restarts:
            await self._give_up(server, f"crash loop: {why}, {crashes} times in a row", list(running.recent), crashes)
            return
        delay = min(
            self.settings.restart_backoff_seconds * 2 ** (crashes - 1), self.settings.restart_backoff_max_seconds
        )
        self.say(server.id, f"{why}; restarting in {delay:.0f}s")
        await transition(
            self.parts.db,
            server.id,
            ServerStatus.CRASHED,
            reason=f"{why}; restarting in {delay:.0f}s",
            usage="crash",
            usage_data={"exit_code": code, "reason": why},
            reconcile_after=timedelta(seconds=delay),
            consecutive_crashes=crashes,
            restart_count=server.restart_count + 1,
            last_exit_code=code,
        )
        await record_usage(self.parts.db, server.id, "restart", {"after_seconds": delay, "attempt": crashes})
        self.parts.metrics.server_restarts.labels(server.slug).inc()

    async def _check_health(self, running: Running) -> None:
        failures = 0
        interval, limit = self.settings.health_check_interval_seconds, self.settings.health_check_failures
        while not running.stopping and running.session is not None:
            await asyncio.sleep(interval)
            try:
                await running.session.ping(timeout=self.settings.health_check_timeout_seconds)
            except (TimeoutError, JsonRpcError):
                failures += 1
                self.say(running.server_id, f"did not answer ping ({failures}/{limit})")
                if failures >= limit:
                    running.kill_reason = f"stopped answering ping ({limit} times)"
                    await running.instance.stop(self.settings.stop_grace_seconds)
                    return
            except ConnectionClosed:
                return
            else:
                failures = 0
                if time.monotonic() - running.started > HEALTHY_AFTER_SECONDS:
                    await self._forget_crashes(running.server_id)

    async def _forget_crashes(self, server_id: uuid.UUID) -> None:
        async with self.parts.db.session_scope() as session:
            await session.execute(
                sa.update(Server)
                .where(Server.id == server_id, Server.consecutive_crashes > 0)
                .values(consecutive_crashes=0)
            )

    def _on_notification(self, running: Running, mux: UpstreamMux, message: dict[str, Any]) -> None:
        if not str(message.get("method", "")).endswith("/list_changed"):
            mux.on_notification(message)
            return
        # Clients hear of the change once it is synced and its definitions recorded (a changed one is held by then).
        self._deferred.setdefault(running.server_id, []).append(message)
        if running.server_id not in self._syncs:
            self._syncs[running.server_id] = asyncio.create_task(self._resync(running, mux))

    async def _resync(self, running: Running, mux: UpstreamMux) -> None:
        try:
            await asyncio.sleep(0.2)  # a burst of list_changed notifications gives one sync
            if running.session is not None and not running.stopping:
                capabilities = await running.session.capabilities()
                async with self.parts.db.session_scope() as session:
                    await session.execute(
                        sa.update(Server)
                        .where(Server.id == running.server_id)
                        .values(capabilities=capabilities, capabilities_synced_at=utcnow())
                    )
                await self._record_definitions(running.server_id, capabilities)
                self.say(running.server_id, "capabilities changed; synced")
        except (*_HANDSHAKE_ERRORS,):
            log.warning("capability sync of %s failed", running.slug)
        finally:
            self._syncs.pop(running.server_id, None)
            for message in self._deferred.pop(running.server_id, []):
                mux.on_notification(message)

    async def _record_definitions(self, server_id: uuid.UUID, capabilities: dict[str, Any]) -> None:
        """Compare the declared tools, prompts and resources with the approved ones (``pinning``)."""
        async with self.parts.db.session_scope() as session:
            server = await ServerRepository(session).get(server_id, for_update=True)
            if server is None:
                return
            recorded = await pinning.record(session, server, capabilities)
        if recorded.changed:
            items = ", ".join(f"{kind} {name}" for kind, name in recorded.changed)
            held = "held until an owner approves them" if recorded.held else "served (pin policy: warn)"
            self.say(server_id, f"definitions changed since approved: {items}; {held}")

    # -- stopping -------------------------------------------------------------------------------------------------

    async def _stop_instance(self, running: Running) -> int:
        running.stopping = True
        if self.running.get(running.server_id) is running:
            del self.running[running.server_id]
        code = await running.instance.stop(self.settings.stop_grace_seconds)
        await self._close(running)
        if running.mux is not None:  # it went live: its endpoint may be recorded
            await endpoints.clear(self.parts.db, running.server_id, running.generation)
        return code

    async def _close(self, running: Running) -> None:
        for task in running.tasks:
            if (
                task is not asyncio.current_task()
                and not task.done()
                and task.get_name().startswith(("watch", "health"))
            ):
                task.cancel()
        if running.connection is not None:
            await running.connection.close()
        pumps = [task for task in running.tasks if task.get_name().startswith("logs")]
        await asyncio.wait(pumps, timeout=2) if pumps else None

    async def teardown(self, server_id: uuid.UUID) -> None:
        async with self._locks[server_id]:
            await self.instances.stop_server(server_id)
            current = self.running.get(server_id)
            if current is not None:
                await self._stop_instance(current)
            shutil.rmtree(self.parts.settings.home / "servers" / str(server_id), ignore_errors=True)
            await self.parts.secret_store.forget(server_id)
        self._locks.pop(server_id, None)

    # -- helpers --------------------------------------------------------------------------------------------------

    async def _give_up(self, server: Server, reason: str, recent: list[str], crashes: int | None = None) -> None:
        """Put the server in ``error`` with the reason and its last output; it stays there until started again."""
        self.say(server.id, reason)
        detail = reason + ("\n--- last output ---\n" + "\n".join(recent) if recent else "")
        await transition(
            self.parts.db,
            server.id,
            ServerStatus.ERROR,
            reason=detail,
            usage="error",
            usage_data={"reason": reason},
            consecutive_crashes=max(crashes or 0, self.settings.crash_loop_restarts),
        )

    def say(self, server_id: uuid.UUID, line: str) -> None:
        self.logs.add(server_id, LogStream.PLATFORM, line)

    async def load(self, server_id: uuid.UUID) -> Server | None:
        async with self.parts.db.session_scope() as session:
            return await ServerRepository(session).get(server_id)


#: A status and its reason, as a step of a start shows them.
StatusChange = tuple[ServerStatus, str | None]


@dataclass(frozen=True)
class Started:
    """A new instance that completed the MCP handshake, before traffic reaches it."""

    running: Running
    manifest: dict[str, Any]
    capabilities: dict[str, Any]
    warnings: list[str]


@dataclass(frozen=True)
class Failed:
    """Why a start failed, and the instance's last output."""

    reason: str
    recent: list[str] = field(default_factory=list)


async def _show(db: Database, server_id: uuid.UUID, change: StatusChange) -> None:
    await transition(db, server_id, change[0], reason=change[1])


def _describe(exc: BaseException, code: int) -> str:
    if isinstance(exc, ConnectionClosed):
        return f"exited with code {code}"
    return f"{type(exc).__name__}: {exc}"


def _plain(details: dict[str, Any]) -> dict[str, Any]:
    return {key: str(value) for key, value in details.items()}
