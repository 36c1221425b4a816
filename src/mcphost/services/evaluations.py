"""The loops of evaluations: the scheduler, which starts the runs of suites whose interval has come round, and the
deploy watcher, which starts a suite's run when a new revision of a server it covers goes live.

Both only make run rows and enqueue their jobs (``evaluations.triggers``); the job worker of the node hosting the
server carries runs out. Several replicas may run both: due suites are claimed with ``FOR UPDATE SKIP LOCKED`` and
every trigger carries a unique ``dedupe_key``, so each run starts once."""

from __future__ import annotations

import logging
import uuid

from mcphost.db.session import Database
from mcphost.evaluations import triggers
from mcphost.events import Event, EventBus
from mcphost.services.loop import ServiceLoop
from mcphost.settings import EvaluationSettings

log = logging.getLogger(__name__)


class EvaluationScheduler(ServiceLoop):
    name = "evaluation-scheduler"

    def __init__(self, db: Database, settings: EvaluationSettings) -> None:
        super().__init__(settings.scheduler_interval_seconds)
        self.db = db

    async def run_once(self) -> None:
        async with self.db.session_scope() as session:
            started = await triggers.start_due(session)
        if started:
            log.info("evaluation scheduler started %d runs", len(started))


class DeployWatcher(ServiceLoop):
    """Listens for servers going live (the ``server.usage`` event ``start``, sent once the status is committed) and
    hands each to ``triggers.on_live``; a server going live while a check is under way is checked again after."""

    name = "evaluation-deploys"

    def __init__(self, db: Database, bus: EventBus, interval: float = 60.0) -> None:
        super().__init__(interval)
        self.db = db
        self.bus = bus
        self._pending: set[uuid.UUID] = set()

    async def start(self) -> None:
        self.bus.fanout.add_listener(self._on_event)
        await super().start()

    async def on_stop(self) -> None:
        self.bus.fanout.remove_listener(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.kind != "server.usage" or event.data.get("usage") != "start":
            return
        try:
            self._pending.add(uuid.UUID(str(event.data.get("id"))))
        except ValueError:
            return
        self.wake()

    async def run_once(self) -> None:
        while self._pending:
            server_id = self._pending.pop()
            await triggers.on_live(self.db, server_id)
