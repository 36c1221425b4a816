"""Housekeeping: purge finished jobs past retention, expired login sessions and expired invitations, and
invocation records past their retention or beyond their server's budget."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa

from mcphost.db.base import utcnow
from mcphost.db.session import Database
from mcphost.jobs.queue import purge_finished
from mcphost.models import Invitation, LoginSession
from mcphost.servers import invocations
from mcphost.services.loop import ServiceLoop
from mcphost.settings import Settings

log = logging.getLogger(__name__)


class MaintenanceLoop(ServiceLoop):
    name = "maintenance"

    def __init__(self, db: Database, settings: Settings) -> None:
        super().__init__(settings.services.maintenance_interval_seconds)
        self.db = db
        self.settings = settings
        self._invocations_checked = 0  # records up to this id were within their server's budget

    async def run_once(self) -> None:
        now = utcnow()
        retention = timedelta(days=self.settings.jobs.retention_days)
        async with self.db.session_scope() as session:
            jobs = await purge_finished(session, now - retention)
            sessions = await session.execute(sa.delete(LoginSession).where(LoginSession.expires_at < now))
            invitations = await session.execute(sa.delete(Invitation).where(Invitation.expires_at < now))
            traces = self.settings.traces
            newest = await invocations.newest_id(session)
            cutoff = now - timedelta(days=traces.retention_days)
            traced = await invocations.purge(session, traces, older_than=cutoff, after_id=self._invocations_checked)
        self._invocations_checked = newest
        removed = (jobs, sessions.rowcount, invitations.rowcount, traced)  # type: ignore[attr-defined]
        if any(removed):
            log.info("maintenance purged %d jobs, %d sessions, %d invitations, %d invocation records", *removed)
