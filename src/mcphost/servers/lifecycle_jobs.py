"""The durable jobs through which the lifecycle layer acts on servers. Servers of a local runtime are handled by
the node that hosts them, so their jobs go to that node's queue."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.jobs import queue
from mcphost.models import Server

RECONCILE = "server.reconcile"
TEARDOWN = "server.teardown"


def node_queue(node: str | None) -> str:
    return f"node:{node}" if node else queue.DEFAULT_QUEUE


async def enqueue_reconcile(
    session: AsyncSession, server: Server, *, refresh: bool = False, run_after: datetime | None = None
) -> None:
    """Make the server's instances match its desired state (``refresh``: prepare its source anew)."""
    await queue.enqueue(
        session,
        RECONCILE,
        {"server_id": str(server.id), "refresh": refresh},
        queue=node_queue(server.node),
        run_after=run_after,
        max_attempts=3,
    )


async def enqueue_teardown(session: AsyncSession, server: Server) -> None:
    """Stop whatever still runs of a deleted server and remove its data."""
    await queue.enqueue(
        session,
        TEARDOWN,
        {"server_id": str(server.id), "slug": server.slug},
        queue=node_queue(server.node),
        max_attempts=5,
    )


def server_id_of(payload: dict[str, object]) -> uuid.UUID:
    return uuid.UUID(str(payload["server_id"]))
