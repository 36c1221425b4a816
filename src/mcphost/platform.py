"""One MCP Host process: settings, keys, database, event bus, job handlers, metrics and background services.

``create_app`` serves a ``Platform`` over HTTP; ``mcphost worker`` runs one without HTTP. Either way the
platform is built from a ``Settings`` instance and started and stopped explicitly.

The platform assembles the parts; the parts never import it. Each is given what it needs through its constructor
(the database, the settings, ...) or takes a small protocol the platform satisfies (``NodeParts``, ``WorkerParts``).
``scripts/check_import_cycles.py`` (in ``make lint``) keeps imports pointing down.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from mcphost.accounts.bootstrap import ensure_bootstrap_admin
from mcphost.catalog.service import install_builtin_entries
from mcphost.db import migrate
from mcphost.db.session import Database
from mcphost.domains.sync import DomainSync
from mcphost.events import Event, EventBus, create_bus
from mcphost.ingestion.runner import register_ingestion_jobs
from mcphost.jobs.registry import JobRegistry
from mcphost.jobs.worker import JobWorker
from mcphost.nodes.heartbeat import NodeHeartbeat
from mcphost.observability.metrics import Metrics
from mcphost.observability.traces import TraceRecorder
from mcphost.runtimes.registry import Runtimes
from mcphost.secretstore import SecretStore, secret_store_for
from mcphost.security.keys import KeyRing
from mcphost.servers.agent import NodeAgent
from mcphost.servers.lifecycle_jobs import node_queue
from mcphost.services import ServiceManager
from mcphost.services.evaluations import EvaluationScheduler
from mcphost.services.maintenance import MaintenanceLoop
from mcphost.settings import Settings, ensure_home, load_secret_key
from mcphost.vectors.supervisor import VectorSupervisor

log = logging.getLogger(__name__)


@dataclass
class Platform:
    settings: Settings
    keys: KeyRing
    db: Database
    bus: EventBus
    runtimes: Runtimes
    jobs: JobRegistry = field(default_factory=JobRegistry)
    metrics: Metrics = field(default_factory=Metrics)
    services: ServiceManager = field(default_factory=ServiceManager)
    agent: NodeAgent | None = None
    traces: TraceRecorder = field(init=False)
    secret_store: SecretStore = field(init=False)

    @classmethod
    def create(cls, settings: Settings) -> Platform:
        ensure_home(settings)
        db = Database(settings)
        bus = create_bus(settings, db.engine)
        platform = cls(
            settings=settings, keys=KeyRing(load_secret_key(settings)), db=db, bus=bus, runtimes=Runtimes(settings)
        )
        db.after_commit = platform._after_commit
        platform.secret_store = secret_store_for(settings.secrets, platform.keys)
        platform.traces = TraceRecorder(db, settings.traces, platform.metrics)
        platform.traces.redact_secrets_with(platform.secret_store.read)
        return platform

    async def _after_commit(self, events: Sequence[Event]) -> None:
        """Committed events reach this process's listeners at once (before the request is answered), then the bus."""
        self.bus.fanout.notify_listeners(events)
        await self.bus.publish(events)

    async def start(self, *, services: bool, host_servers: bool = False) -> None:
        """Start the platform; ``services`` runs the shared background loops, ``host_servers`` runs this node's
        servers (the node agent and the worker of the node's job queue)."""
        if self.settings.database.migrate_on_start:
            await migrate.upgrade(self.db.engine)
        elif not await migrate.is_current(self.db.engine):
            # Serve /healthz and an honest /readyz, but touch no table until `mcphost db upgrade` has run.
            log.error("the database schema is not current; run `mcphost db upgrade`, then restart")
            await self.bus.start()
            return
        await ensure_bootstrap_admin(self.db, self.settings)
        async with self.db.session_scope() as session:
            await install_builtin_entries(session)
        await self.bus.start()
        await self.traces.start()
        queues: list[str] = []
        if host_servers:
            self.agent = NodeAgent(self)
            self.agent.register_jobs(self.jobs)
            await self.agent.start()
            queues.append(node_queue(self.settings.runtime.node_name))
            # This node's vector databases (Chroma servers) and the ingestion jobs that fill them.
            register_ingestion_jobs(self.jobs, self)
            if not self.services.get(VectorSupervisor.name):
                self.services.add(VectorSupervisor(self))
            # Other replicas find this node (its address, whether it is up) to forward its servers' requests here.
            if not self.services.get(NodeHeartbeat.name):
                self.services.add(NodeHeartbeat(self.db, self.settings))
        if services and self.settings.services.job_worker:
            queues.append("default")
        self._add_services(queues=tuple(queues), maintenance=services and self.settings.services.maintenance)
        if services and self.settings.domains.enabled and not self.services.get(DomainSync.name):
            self.services.add(DomainSync(self.db, self.bus, self.settings))
        if services and self.settings.evaluations.scheduler and not self.services.get(EvaluationScheduler.name):
            self.services.add(EvaluationScheduler(self.db, self.settings.evaluations))
        await self.services.start()

    def _add_services(self, *, queues: tuple[str, ...], maintenance: bool) -> None:
        if queues and not self.services.get(JobWorker.name):
            self.services.add(JobWorker(self, self.jobs, queues=queues))
        if maintenance and not self.services.get(MaintenanceLoop.name):
            self.services.add(MaintenanceLoop(self.db, self.settings))

    async def stop(self) -> None:
        await self.services.stop()
        if self.agent is not None:
            await self.agent.stop()
        await self.traces.stop()
        await self.runtimes.close()
        await self.bus.stop()
        await self.db.dispose()
