"""A custom domain as the API, the console and the CLI show it: its state, how to verify it, its certificate."""

from __future__ import annotations

from urllib.parse import urlsplit

from mcphost.domains.caddy import https_base, public_site
from mcphost.domains.names import TXT_PREFIX, display, http_url
from mcphost.domains.schemas import (
    CertificateOut,
    DnsInstructions,
    DomainOut,
    HttpInstructions,
    Verification,
)
from mcphost.models import CustomDomain
from mcphost.settings import Settings


def point_to(settings: Settings) -> str | None:
    """The name a domain's DNS should point at: the platform's own public host, which its Caddy serves."""
    return public_site(settings) or urlsplit(settings.effective_public_url).hostname


def domain_out(settings: Settings, domain: CustomDomain) -> DomainOut:
    name = domain.name
    target = point_to(settings)
    note = (
        f"Once {name} points at this platform ({target}), the platform serves this file itself: verify right away. "
        "Until then, the web server the name points at must serve it."
    )
    return DomainOut(
        domain=name,
        display_name=display(name),
        server_id=domain.server_id,
        status=domain.status,
        endpoint_url=f"{https_base(settings, name)}/mcp",
        verification=Verification(
            token=domain.token,
            dns=DnsInstructions(type="TXT", name=f"{TXT_PREFIX}.{name}", value=domain.token),
            http=HttpInstructions(
                url=http_url(name, domain.token, settings.domains.http_port), body=domain.token, note=note
            ),
            point_to=target,
        ),
        verified_at=domain.verified_at,
        verified_with=domain.verified_with,
        certificate=CertificateOut(
            status=domain.certificate,
            detail=domain.certificate_detail,
            expires_at=domain.certificate_expires_at,
            checked_at=domain.certificate_checked_at,
        ),
        created_at=domain.created_at,
    )
