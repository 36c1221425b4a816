"""Listing the nodes with their state, for administrators."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.nodes.directory import NodeView
from mcphost.nodes.repository import NodeRepository
from mcphost.nodes.schemas import NodeOut
from mcphost.settings import NodeSettings


async def list_nodes(session: AsyncSession, settings: NodeSettings) -> list[NodeOut]:
    repository = NodeRepository(session)
    counts = await repository.server_counts()
    found = []
    for node in await repository.all():
        view = NodeView.of(node)
        found.append(
            NodeOut(
                name=node.name,
                internal_url=node.internal_url,
                state=view.state(settings.down_after_seconds),
                down_since=view.down_since(settings.down_after_seconds),
                started_at=node.started_at,
                heartbeat_at=node.heartbeat_at,
                stopped_at=node.stopped_at,
                version=node.version,
                servers=counts.get(node.name, 0),
            )
        )
    return found
