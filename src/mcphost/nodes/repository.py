"""All SQL about nodes: registering one, its heartbeat, its clean stop, and listing them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost import __version__
from mcphost.db.base import utcnow
from mcphost.models import Node, Server


class NodeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def register(self, name: str, internal_url: str, machine: str) -> Node:
        """Record that the node ``name`` (re)started at this address; returns its row."""
        now = utcnow()
        node = await self.session.get(Node, name, with_for_update=True)
        if node is None:
            node = Node(name=name, internal_url=internal_url, machine=machine, version=__version__)
            self.session.add(node)
        node.internal_url, node.machine, node.version = internal_url, machine, __version__
        node.started_at, node.heartbeat_at, node.stopped_at = now, now, None
        await self.session.flush()
        return node

    async def beat(self, name: str) -> bool:
        """Renew the heartbeat; False when the row is gone (then register again)."""
        result = await self.session.execute(
            sa.update(Node).where(Node.name == name).values(heartbeat_at=utcnow(), stopped_at=None)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def stopped(self, name: str, when: datetime | None = None) -> None:
        await self.session.execute(sa.update(Node).where(Node.name == name).values(stopped_at=when or utcnow()))

    async def all(self) -> Sequence[Node]:
        return (await self.session.scalars(sa.select(Node).order_by(Node.name))).all()

    async def server_counts(self) -> dict[str, int]:
        """How many servers each node hosts."""
        rows = await self.session.execute(
            sa.select(Server.node, sa.func.count()).where(Server.node.is_not(None)).group_by(Server.node)
        )
        return {node: count for node, count in rows.all() if node is not None}
