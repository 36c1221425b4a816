"""The durable jobs through which the lifecycle layer acts on servers. Servers of a local runtime are handled by
the node that hosts them, so their jobs go to that node's queue."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.jobs import queue
from mcphost.models import Server

RECONCILE = "server.reconcile"
TEARDOWN = "server.teardown"


def node_queue(node: str | None) -> str:
    return f"node:{node}" if node else queue.DEFAULT_QUEUE


async def enqueue_reconcile(
    session: AsyncSession,
    server: Server,
    *,
    prepare: Mapping[str, bool] | None = None,
    restart: bool = False,
    run_after: datetime | None = None,
) -> None:
    """Make the server's instances match its desired state. ``prepare``: flags added to the source for the runtime's
    ``prepare`` (``refresh``: resolve it anew; ``no_cache``, ``pull``: how to build); ``restart``: stop the serving
    instance before starting the new one, where a change of generation otherwise replaces it without downtime."""
    flags = {flag: True for flag, on in (prepare or {}).items() if on}
    await queue.enqueue(
        session,
        RECONCILE,
        {"server_id": str(server.id), "prepare": flags, "restart": restart},
        queue=node_queue(server.node),
        run_after=run_after,
        max_attempts=3,
    )


async def enqueue_teardown(session: AsyncSession, server: Server, detach: list[dict[str, str]] | None = None) -> None:
    """Stop whatever still runs of a deleted server and remove its data, and drop the attached services named in
    ``detach`` (kind, resource, username: their rows go with the server's, so the job carries them)."""
    await queue.enqueue(
        session,
        TEARDOWN,
        {"server_id": str(server.id), "slug": server.slug, "runtime": server.runtime, "detach": detach or []},
        queue=node_queue(server.node),
        max_attempts=5,
    )


def server_id_of(payload: dict[str, object]) -> uuid.UUID:
    return uuid.UUID(str(payload["server_id"]))


def prepare_flags_of(payload: dict[str, object]) -> dict[str, bool]:
    """The ``prepare`` flags of a reconcile job (jobs queued before they existed said only ``refresh``)."""
    flags = payload.get("prepare")
    if isinstance(flags, dict):
        return {str(flag): True for flag, on in flags.items() if on is True}
    return {"refresh": True} if payload.get("refresh") else {}
