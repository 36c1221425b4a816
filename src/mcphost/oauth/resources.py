"""Which server a resource indicator (RFC 8707) names: one of this platform's endpoints, ``{public URL}/mcp/{slug}``,
or the endpoint of a verified custom domain, ``https://{domain}[:port]/mcp`` (``mcphost.domains``), which reaches the
same server. A token is bound to the server either way: it works at both of its addresses, at no other server's."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.models import CustomDomain, DomainStatus
from mcphost.oauth.errors import InvalidTarget
from mcphost.oauth.metadata import issuer

DOMAIN_PATH = "/mcp"


def platform_slug(resource: str, public_url: str) -> str | None:
    """The slug of a platform endpoint URL; None for the form of a custom domain's endpoint (looked up later with
    ``domain_server``); InvalidTarget for anything else."""
    base = f"{issuer(public_url)}/mcp/"
    if resource.startswith(base):
        slug = resource[len(base) :].rstrip("/")
        if slug and not any(mark in slug for mark in "/?#"):
            return slug
    elif domain_of(resource) is not None:
        return None
    raise InvalidTarget(
        f"{resource} is not an MCP endpoint of this MCP Host (expected {base}<server>, or https://<a verified custom "
        f"domain>{DOMAIN_PATH})."
    )


def domain_of(resource: str) -> str | None:
    """The host name of ``https://{name}[:port]/mcp``, else None."""
    try:
        parts = urlsplit(resource)
        hostname = parts.hostname
    except ValueError:
        return None
    if parts.scheme != "https" or not hostname or parts.query or parts.fragment or parts.username:
        return None
    return hostname.lower() if parts.path.rstrip("/") == DOMAIN_PATH else None


async def domain_server(session: AsyncSession, resource: str) -> uuid.UUID | None:
    """The server a verified custom domain's endpoint reaches (None: no verified domain of that name)."""
    name = domain_of(resource)
    if name is None:
        return None
    query = sa.select(CustomDomain.server_id).where(
        CustomDomain.name == name, CustomDomain.status == DomainStatus.VERIFIED
    )
    return await session.scalar(query)


async def names_server(session: AsyncSession, resource: str, server_id: uuid.UUID, slug: str, public_url: str) -> bool:
    """Whether ``resource`` is one of the server's endpoints (its platform URL or a verified domain's)."""
    if resource.rstrip("/") == f"{issuer(public_url)}/mcp/{slug}":
        return True
    return await domain_server(session, resource) == server_id
