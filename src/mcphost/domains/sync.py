"""The Caddy sync: a background loop that keeps Caddy's configuration in step with the verified domains and reads
back the state of their certificates.

It runs when the platform starts (so a restart re-applies the configuration), at once after a domain is verified or
removed or a server deleted (events), every few seconds while a certificate is pending, and otherwise every
``domains.sync_interval_seconds`` (which also restores the configuration of a Caddy that restarted empty). The
database is read and written in short transactions; Caddy and the TLS checks are asked between them."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from mcphost.db.base import utcnow
from mcphost.db.session import Database, queue_after_commit
from mcphost.domains.caddy import CaddyAdmin, CaddyError, Site
from mcphost.domains.certificates import Attempt, Served, newest_attempts, served_certificate
from mcphost.domains.repository import DomainRepository
from mcphost.domains.service import ROUTING_EVENTS
from mcphost.events import Event, EventBus
from mcphost.models import CertificateStatus, CustomDomain, DomainStatus, Server
from mcphost.servers.permissions import server_event
from mcphost.services.loop import ServiceLoop
from mcphost.settings import Settings

log = logging.getLogger(__name__)

#: Seconds between checks while a certificate is pending.
PENDING_INTERVAL = 2.0


@dataclass(frozen=True)
class CertificateState:
    status: CertificateStatus
    detail: str
    expires_at: datetime | None = None


class DomainSync(ServiceLoop):
    name = "domains"

    def __init__(self, db: Database, bus: EventBus, settings: Settings, admin: CaddyAdmin | None = None) -> None:
        super().__init__(settings.domains.sync_interval_seconds)
        self.db = db
        self.bus = bus
        self.settings = settings
        timeout = settings.domains.verify_timeout_seconds
        self.admin = admin or CaddyAdmin(settings.domains.caddy_admin_url, timeout=timeout)
        #: Why Caddy could not be configured at the last iteration (None: it runs the wanted configuration).
        self.problem: str | None = None

    async def start(self) -> None:
        self.bus.fanout.add_listener(self._on_event)
        await super().start()

    async def on_stop(self) -> None:
        self.bus.fanout.remove_listener(self._on_event)
        await self.admin.close()

    def _on_event(self, event: Event) -> None:
        if event.kind in ROUTING_EVENTS:
            self.wake()

    async def run_once(self) -> None:
        async with self.db.session_scope() as session:
            verified = await DomainRepository(session).all_verified()
        sites = [Site(domain.name, slug) for domain, slug in verified]
        try:
            if await self.admin.apply(self.settings, sites):
                log.info("loaded Caddy's configuration: %d domains", len(sites))
            self.problem = None
        except CaddyError as exc:
            if exc.args[0] != self.problem:
                log.warning("%s", exc)
            self.problem = str(exc)
        states = {domain.id: await self._state_of(domain) for domain, _slug in verified}
        await self._record(states)
        pending = any(state.status is not CertificateStatus.ISSUED for state in states.values())
        self.interval = PENDING_INTERVAL if pending else self.settings.domains.sync_interval_seconds

    async def _state_of(self, domain: CustomDomain) -> CertificateState:
        domains = self.settings.domains
        now = utcnow()
        served = await served_certificate(
            domains.caddy_host, domains.https_port, domain.name, timeout=domains.verify_timeout_seconds
        )
        if isinstance(served, Served) and served.covers(domain.name, now):
            detail = f"Issued by {served.issuer}; valid until {served.not_after:%Y-%m-%d %H:%M} UTC."
            return CertificateState(CertificateStatus.ISSUED, detail, served.not_after)
        attempt = self._newest_attempt(domain)
        if attempt is not None and not attempt.succeeded:
            return CertificateState(CertificateStatus.FAILED, f"{attempt.message} (the proxy keeps retrying)")
        if self.problem is not None:
            return CertificateState(CertificateStatus.PENDING, f"The proxy is not configured yet: {self.problem}")
        if isinstance(served, Served):
            names = ", ".join(served.names) or "no name"
            detail = f"The proxy serves a certificate for {names} (until {served.not_after:%Y-%m-%d}), not this name."
            return CertificateState(CertificateStatus.PENDING, detail)
        return CertificateState(CertificateStatus.PENDING, f"Being obtained: {served}.")

    def _newest_attempt(self, domain: CustomDomain) -> Attempt | None:
        log_file = self.settings.domains.caddy_log_file
        if log_file is None:
            return None
        attempt = newest_attempts(log_file, {domain.name}).get(domain.name)
        if attempt is None or (domain.verified_at is not None and attempt.at < domain.verified_at):
            return None
        return attempt

    async def _record(self, states: dict[uuid.UUID, CertificateState]) -> None:
        if not states:
            return
        now = utcnow()
        async with self.db.session_scope() as session:
            for domain_id, state in states.items():
                domain = await session.get(CustomDomain, domain_id)
                if domain is None or domain.status is not DomainStatus.VERIFIED:
                    continue  # removed meanwhile
                changed = (domain.certificate, domain.certificate_detail) != (state.status, state.detail)
                domain.certificate = state.status
                domain.certificate_detail = state.detail
                domain.certificate_expires_at = state.expires_at
                domain.certificate_checked_at = now
                if changed:
                    server = await session.get(Server, domain.server_id)
                    if server is not None:
                        event = server_event(
                            "domain.certificate", server, domain=domain.name, certificate=state.status.value
                        )
                        queue_after_commit(session, event)
