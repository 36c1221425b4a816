"""The heartbeat of the node this process hosts: registered at its first beat (with its internal address and
machine), renewed every ``nodes.heartbeat_seconds``, marked stopped when the process stops cleanly. Registering and
stopping publish ``node.started`` and ``node.stopped`` so every replica's directory learns at once; the beats
themselves publish nothing (the directories re-read the table at the same pace)."""

from __future__ import annotations

import logging

from mcphost.db.session import Database, queue_after_commit
from mcphost.events import Event
from mcphost.nodes.identity import internal_url, machine_id
from mcphost.nodes.repository import NodeRepository
from mcphost.services.loop import ServiceLoop
from mcphost.settings import Settings

log = logging.getLogger(__name__)


class NodeHeartbeat(ServiceLoop):
    name = "node-heartbeat"

    def __init__(self, db: Database, settings: Settings) -> None:
        super().__init__(settings.nodes.heartbeat_seconds)
        self.db = db
        self.node = settings.runtime.node_name
        self.url = internal_url(settings)
        self.registered = False

    async def run_once(self) -> None:
        async with self.db.session_scope() as session:
            repository = NodeRepository(session)
            if self.registered and await repository.beat(self.node):
                return
            await repository.register(self.node, self.url, machine_id())
            queue_after_commit(session, Event("node.started", {"node": self.node, "internal_url": self.url}))
        if not self.registered:
            log.info("node %s registered at %s", self.node, self.url)
        self.registered = True

    async def on_stop(self) -> None:
        if not self.registered:
            return
        try:
            async with self.db.session_scope() as session:
                await NodeRepository(session).stopped(self.node)
                queue_after_commit(session, Event("node.stopped", {"node": self.node}))
        except Exception:  # the database may be gone first; the heartbeat's age tells the others anyway
            log.warning("could not record that node %s stopped", self.node, exc_info=True)
