"""Rules of custom domains: who may add, verify and remove them, what a name may be, and who holds it.

Anyone who sees a server sees its domains; only its owner, an admin of its organisation or an administrator changes
them. Several servers may claim a name while none has proved it, so nobody can squat a name by claiming it first.
Proof is the token in a DNS TXT record, which only who controls the zone can publish, or the token served over HTTP
at the name; this platform serves that file itself for every name pointed at its proxy, so the HTTP proof only
counts while no other server claims the name (then the TXT record decides). Once verified, a name belongs to its
server alone until removed (deleting the server removes its domains)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.db.base import utcnow
from mcphost.db.session import queue_after_commit
from mcphost.domains.caddy import public_site
from mcphost.domains.names import InvalidDomain, normalize
from mcphost.domains.repository import DomainRepository
from mcphost.domains.verification import Checker
from mcphost.errors import AppError, Conflict, NotFound, ValidationFailed
from mcphost.models import CertificateStatus, CustomDomain, DomainStatus, Server, VerificationMethod
from mcphost.servers import service as servers
from mcphost.servers.permissions import may_own, require_owner, server_event
from mcphost.settings import Settings

#: Event kinds after which Caddy's configuration may have to change.
ROUTING_EVENTS = ("domain.verified", "domain.removed", "server.deleted")


class DomainParts(Protocol):
    @property
    def settings(self) -> Settings: ...


class VerificationFailed(AppError):
    """Neither proof was found; the details say what each check found instead."""

    status_code = 422
    code = "verification_failed"


class DomainsDisabled(AppError):
    status_code = 409
    code = "domains_disabled"


async def domains_of(session: AsyncSession, principal: Principal, server_id: uuid.UUID) -> list[CustomDomain]:
    server = await servers.get_visible(session, principal, server_id)
    return await DomainRepository(session).of_server(server.id)


async def domain_of(session: AsyncSession, principal: Principal, server_id: uuid.UUID, raw: str) -> CustomDomain:
    server = await servers.get_visible(session, principal, server_id)
    return await _existing(session, server, raw)


async def add(
    session: AsyncSession, parts: DomainParts, principal: Principal, server_id: uuid.UUID, raw: str
) -> CustomDomain:
    """Claim ``raw`` for the server: a pending domain with a new token to publish."""
    settings = parts.settings
    if not settings.domains.enabled:
        raise DomainsDisabled(
            "Custom domains are not enabled on this platform; an administrator turns them on with "
            "MCPHOST_DOMAINS__ENABLED=true and a Caddy (see docs/domains.md).",
        )
    server = await servers.get_visible(session, principal, server_id)
    await require_owner(session, principal, server, "add a custom domain")
    try:
        name = normalize(raw)
    except InvalidDomain as exc:
        raise ValidationFailed(str(exc), code="invalid_domain") from None
    if name in _platform_names(settings):
        raise Conflict(f"{name} is this platform's own address; choose a name of your own.", code="domain_unavailable")
    repository = DomainRepository(session)
    if await repository.get(server.id, name) is not None:
        raise Conflict(f"{name} is already a domain of this server.", code="domain_exists")
    if await repository.verified_elsewhere(name, server.id):
        raise Conflict(_taken(name), code="domain_taken")
    domain = CustomDomain(
        server_id=server.id,
        name=name,
        token=secrets.token_urlsafe(24),
        status=DomainStatus.PENDING_VERIFICATION,
        created_by=principal.user_id,
    )
    await repository.add(domain)
    queue_after_commit(session, server_event("domain.added", server, domain=name))
    return domain


@dataclass(frozen=True)
class Claim:
    """A pending domain about to be checked, read in a transaction that ends before the checks (they wait on DNS
    and HTTP, which must not hold a database transaction open)."""

    server_id: uuid.UUID
    name: str
    token: str
    #: Another server claims the name too: only the DNS record can prove it.
    contested: bool


async def claim_to_verify(
    session: AsyncSession, principal: Principal, server_id: uuid.UUID, raw: str
) -> CustomDomain | Claim:
    """The verified domain as it is, or the claim to check (raises when the principal may not verify it, or
    another server has verified the name)."""
    server = await servers.get_visible(session, principal, server_id)
    await require_owner(session, principal, server, "verify its custom domains")
    domain = await _existing(session, server, raw)
    if domain.status is DomainStatus.VERIFIED:
        return domain
    repository = DomainRepository(session)
    if await repository.verified_elsewhere(domain.name, server.id):
        raise Conflict(_taken(domain.name), code="domain_taken")
    contested = await repository.claimed_elsewhere(domain.name, server.id)
    return Claim(server_id=server.id, name=domain.name, token=domain.token, contested=contested)


async def prove(parts: DomainParts, claim: Claim) -> VerificationMethod:
    """Look for the token: the DNS TXT record first, then the HTTP file; ``VerificationFailed`` says what each
    check found instead. Call it outside a transaction."""
    checker = Checker(parts.settings.domains)
    dns_problem = await checker.dns(claim.name, claim.token)
    if dns_problem is None:
        return VerificationMethod.DNS
    if claim.contested:
        http_problem = (
            "not accepted: another server on this platform claims this name too, and this platform serves "
            "every claim's file for names pointed at it, so only the DNS TXT record can prove it is yours"
        )
    else:
        http_problem = await checker.http(claim.name, claim.token) or ""
    if not http_problem:
        return VerificationMethod.HTTP
    raise VerificationFailed(
        f"{claim.name} is not verified yet. DNS: {dns_problem}. HTTP: {http_problem}. Publish the token as the "
        "TXT record or the HTTP file (see the domain's verification instructions), then verify again.",
        details={"dns": dns_problem, "http": http_problem},
    )


async def mark_verified(
    session: AsyncSession, principal: Principal, claim: Claim, method: VerificationMethod
) -> CustomDomain:
    """Record the proof (the domain is read again: it may have gone, or another server may have won the name)."""
    server = await servers.get_visible(session, principal, claim.server_id)
    await require_owner(session, principal, server, "verify its custom domains")
    domain = await _existing(session, server, claim.name)
    if domain.status is DomainStatus.VERIFIED:
        return domain
    if domain.token != claim.token or await DomainRepository(session).verified_elsewhere(domain.name, server.id):
        raise Conflict(_taken(domain.name), code="domain_taken")
    domain.status = DomainStatus.VERIFIED
    domain.verified_at = utcnow()
    domain.verified_with = method
    domain.certificate = CertificateStatus.PENDING
    domain.certificate_detail = "Waiting for the proxy to obtain a certificate."
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # another server verified the name at the same moment
        raise Conflict(_taken(domain.name), code="domain_taken") from None
    queue_after_commit(session, server_event("domain.verified", server, domain=domain.name))
    return domain


async def remove(session: AsyncSession, principal: Principal, server_id: uuid.UUID, raw: str) -> None:
    server = await servers.get_visible(session, principal, server_id)
    await require_owner(session, principal, server, "remove its custom domains")
    domain = await _existing(session, server, raw)
    await DomainRepository(session).delete(domain)
    queue_after_commit(session, server_event("domain.removed", server, domain=domain.name))


async def may_manage(session: AsyncSession, principal: Principal, server: Server) -> bool:
    """Whether the principal may add, verify and remove this (visible) server's domains."""
    return await may_own(session, principal, server)


# -- answers for the proxy ------------------------------------------------------------------------------------------


async def challenge_answer(session: AsyncSession, host: str, token: str) -> str | None:
    """The token, when a pending claim of ``host`` has it: the verification file this platform serves."""
    name = _host_name(host)
    if name is None:
        return None
    domain = await DomainRepository(session).pending_with_token(name, token)
    return domain.token if domain is not None else None


async def verified_slug(session: AsyncSession, host: str) -> tuple[str, str] | None:
    """(name, server slug) of a verified domain named by a Host header value."""
    name = _host_name(host)
    if name is None:
        return None
    found = await DomainRepository(session).verified_with_slug(name)
    return (name, found[1]) if found is not None else None


def _host_name(host: str) -> str | None:
    host = host.split(",")[0].strip()
    host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    try:
        return normalize(host)
    except InvalidDomain:
        return None


async def _existing(session: AsyncSession, server: Server, raw: str) -> CustomDomain:
    try:
        name = normalize(raw)
    except InvalidDomain:
        name = None
    domain = await DomainRepository(session).get(server.id, name) if name is not None else None
    if domain is None:
        raise NotFound(f"{raw} is not a domain of this server.", code="domain_not_found")
    return domain


def _platform_names(settings: Settings) -> set[str]:
    names = {(urlsplit(settings.effective_public_url).hostname or "").lower()}
    own = public_site(settings)
    if own is not None:
        names.add(own)
    return names


def _taken(name: str) -> str:
    return (
        f"{name} is already verified by another server on this platform. If the name is yours, remove it there "
        "(or ask an administrator to)."
    )
