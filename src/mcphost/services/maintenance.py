"""Housekeeping: purge finished jobs past retention, expired login sessions and expired invitations."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from mcphost.db.base import utcnow
from mcphost.jobs.queue import purge_finished
from mcphost.models import Invitation, LoginSession
from mcphost.services.loop import ServiceLoop

if TYPE_CHECKING:
    from mcphost.platform import Platform

log = logging.getLogger(__name__)


class MaintenanceLoop(ServiceLoop):
    name = "maintenance"

    def __init__(self, platform: Platform) -> None:
        super().__init__(platform.settings.services.maintenance_interval_seconds)
        self.platform = platform

    async def run_once(self) -> None:
        now = utcnow()
        retention = timedelta(days=self.platform.settings.jobs.retention_days)
        async with self.platform.db.session_scope() as session:
            jobs = await purge_finished(session, now - retention)
            sessions = await session.execute(sa.delete(LoginSession).where(LoginSession.expires_at < now))
            invitations = await session.execute(sa.delete(Invitation).where(Invitation.expires_at < now))
        removed = (jobs, sessions.rowcount, invitations.rowcount)  # type: ignore[attr-defined]
        if any(removed):
            log.info("maintenance purged %d jobs, %d sessions, %d invitations", *removed)
