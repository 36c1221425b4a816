"""Recording what happened to a server: its status, the reason, a usage event and a bus event, in one
transaction. Every status change goes through ``transition``."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from mcphost.db.base import utcnow
from mcphost.db.session import Database, queue_after_commit
from mcphost.models import Server, ServerStatus
from mcphost.servers import lifecycle_jobs
from mcphost.servers.repository import ServerRepository
from mcphost.servers.service import add_usage, server_event


async def transition(
    db: Database,
    server_id: uuid.UUID,
    status: ServerStatus,
    *,
    reason: str | None = None,
    usage: str | None = None,
    usage_data: dict[str, Any] | None = None,
    reconcile_after: timedelta | None = None,
    **updates: Any,
) -> Server | None:
    """Set the status (and other columns); None when the server no longer exists. ``reconcile_after`` schedules
    the next reconcile in the same transaction (a restart after a crash)."""
    async with db.session_scope() as session:
        server = await ServerRepository(session).get(server_id, for_update=True)
        if server is None:
            return None
        changed = server.status is not status or server.status_reason != reason
        server.status, server.status_reason = status, reason
        if changed:
            server.status_changed_at = utcnow()
        for column, value in updates.items():
            setattr(server, column, value)
        if usage is not None:
            add_usage(session, server, usage, usage_data)
        if changed:
            event = server_event(
                "server.status", server, status=status.value, reason=reason, restart_count=server.restart_count
            )
            queue_after_commit(session, event)
        if reconcile_after is not None:
            await lifecycle_jobs.enqueue_reconcile(session, server, run_after=utcnow() + reconcile_after)
    return server


async def record_usage(db: Database, server_id: uuid.UUID, kind: str, data: dict[str, Any] | None = None) -> None:
    async with db.session_scope() as session:
        server = await ServerRepository(session).get(server_id)
        if server is None:
            return
        add_usage(session, server, kind, data)
