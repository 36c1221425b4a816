"""Every replica's view of the nodes: where each one's gateway listens and whether it is up.

Read on the request path (a dict lookup), refreshed off it: the whole (small) table is re-read every heartbeat
interval and at once when a ``node.*`` event arrives. A node is down once it stopped cleanly, or when its heartbeat
is older than ``nodes.down_after_seconds``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy.exc import SQLAlchemyError

from mcphost.db.session import Database
from mcphost.models import Node
from mcphost.nodes.repository import NodeRepository
from mcphost.settings import NodeSettings

log = logging.getLogger(__name__)

NodeState = Literal["up", "down", "stopped"]
#: A node not (yet) known is looked up again at most this often (a request naming it waits for the read).
MISS_REFRESH_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class NodeView:
    name: str
    internal_url: str
    machine: str
    version: str
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None

    @classmethod
    def of(cls, node: Node) -> NodeView:
        return cls(
            node.name,
            node.internal_url,
            node.machine,
            node.version,
            node.started_at,
            node.heartbeat_at,
            node.stopped_at,
        )

    def state(self, down_after: float, now: datetime | None = None) -> NodeState:
        if self.stopped_at is not None:
            return "stopped"
        now = now or datetime.now(UTC)
        return "down" if now - self.heartbeat_at > timedelta(seconds=down_after) else "up"

    def down_since(self, down_after: float) -> datetime | None:
        """Since when it is down (it stopped, or its heartbeat became too old); None while it is up."""
        state = self.state(down_after)
        if state == "stopped":
            return self.stopped_at
        return self.heartbeat_at + timedelta(seconds=down_after) if state == "down" else None


class NodeDirectory:
    def __init__(self, db: Database, settings: NodeSettings) -> None:
        self.db = db
        self.settings = settings
        self._nodes: dict[str, NodeView] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._last_miss = 0.0

    def get(self, name: str) -> NodeView | None:
        return self._nodes.get(name)

    def all(self) -> list[NodeView]:
        return list(self._nodes.values())

    def state(self, view: NodeView) -> NodeState:
        return view.state(self.settings.down_after_seconds)

    async def find(self, name: str) -> NodeView | None:
        """The node, read again when this replica has not heard of it yet (at most once a second)."""
        found = self._nodes.get(name)
        if found is None and time.monotonic() - self._last_miss > MISS_REFRESH_SECONDS:
            self._last_miss = time.monotonic()
            await self.refresh()
            found = self._nodes.get(name)
        return found

    async def refresh(self) -> None:
        try:
            async with self.db.session_scope() as session:
                rows = await NodeRepository(session).all()
        except (SQLAlchemyError, OSError) as exc:  # keep the last view; the next refresh tries again
            log.warning("could not read the nodes: %s", exc)
            return
        self._nodes = {row.name: NodeView.of(row) for row in rows}

    def on_event(self, kind: str) -> None:
        if kind.startswith("node."):
            self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="node-directory")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await self.refresh()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.heartbeat_seconds)
            self._wake.clear()
