"""One MCP Host process: settings, keys, database, event bus, job handlers, metrics and background services.

``create_app`` serves a ``Platform`` over HTTP; ``mcphost worker`` runs one without HTTP. Either way the
platform is built from a ``Settings`` instance and started and stopped explicitly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from mcphost.db import migrate
from mcphost.db.session import Database
from mcphost.events import EventBus, create_bus
from mcphost.jobs.registry import JobRegistry
from mcphost.observability.metrics import Metrics
from mcphost.security.keys import KeyRing
from mcphost.services import ServiceManager
from mcphost.settings import Settings, ensure_home, load_secret_key

log = logging.getLogger(__name__)


@dataclass
class Platform:
    settings: Settings
    keys: KeyRing
    db: Database
    bus: EventBus
    jobs: JobRegistry = field(default_factory=JobRegistry)
    metrics: Metrics = field(default_factory=Metrics)
    services: ServiceManager = field(default_factory=ServiceManager)

    @classmethod
    def create(cls, settings: Settings) -> Platform:
        ensure_home(settings)
        db = Database(settings)
        bus = create_bus(settings, db.engine)
        platform = cls(settings=settings, keys=KeyRing(load_secret_key(settings)), db=db, bus=bus)
        db.after_commit = bus.publish
        return platform

    async def start(self, *, services: bool) -> None:
        if self.settings.database.migrate_on_start:
            await migrate.upgrade(self.db.engine)
        from mcphost.accounts.bootstrap import ensure_bootstrap_admin

        await ensure_bootstrap_admin(self)
        await self.bus.start()
        if services:
            self._add_services()
            await self.services.start()

    def _add_services(self) -> None:
        from mcphost.jobs.worker import JobWorker
        from mcphost.services.maintenance import MaintenanceLoop

        options = self.settings.services
        if options.job_worker and not self.services.get(JobWorker.name):
            self.services.add(JobWorker(self, self.jobs))
        if options.maintenance and not self.services.get(MaintenanceLoop.name):
            self.services.add(MaintenanceLoop(self))

    async def stop(self) -> None:
        await self.services.stop()
        await self.bus.stop()
        await self.db.dispose()
