"""Endpoints of custom domains: the owner's (add, list, show, verify, remove) under /api/servers/{id}/domains, and
the two the proxy forwards for a domain (its verification file, its protected-resource metadata)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status
from fastapi.responses import PlainTextResponse

from mcphost.api.deps import PlatformDep, ReadPrincipal, SessionDep, WritePrincipal
from mcphost.api.schemas import AUTHENTICATED_ERRORS, error_responses
from mcphost.domains import service
from mcphost.domains.caddy import RESOURCE_METADATA, https_base
from mcphost.domains.names import HTTP_PATH
from mcphost.domains.schemas import DomainCreate, DomainOut
from mcphost.domains.views import domain_out
from mcphost.errors import NotFound
from mcphost.gateway.metadata_router import protected_resource_metadata

router = APIRouter(prefix="/api/servers", tags=["domains"], responses=AUTHENTICATED_ERRORS)
well_known_router = APIRouter(tags=["domains"])
DomainPath = Annotated[str, Path(max_length=300, description="The domain, e.g. mcp.example.com.")]


@router.get("/{server_id}/domains", summary="The server's custom domains, their verification and certificates")
async def list_domains(
    server_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep, platform: PlatformDep
) -> list[DomainOut]:
    domains = await service.domains_of(session, principal, server_id)
    return [domain_out(platform.settings, domain) for domain in domains]


@router.post(
    "/{server_id}/domains",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409),
    summary="Claim a domain for the server (owners): returns the token to publish as a DNS TXT record or HTTP file",
)
async def add_domain(
    server_id: uuid.UUID, body: DomainCreate, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> DomainOut:
    domain = await service.add(session, platform, principal, server_id, body.domain)
    return domain_out(platform.settings, domain)


@router.get("/{server_id}/domains/{domain}", summary="One custom domain of the server")
async def get_domain(
    server_id: uuid.UUID, domain: DomainPath, principal: ReadPrincipal, session: SessionDep, platform: PlatformDep
) -> DomainOut:
    found = await service.domain_of(session, principal, server_id, domain)
    return domain_out(platform.settings, found)


@router.post(
    "/{server_id}/domains/{domain}/verify",
    responses=error_responses(409),
    summary="Check the published token (DNS TXT record, else HTTP file); 422 says what each check found",
)
async def verify_domain(
    server_id: uuid.UUID, domain: DomainPath, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> DomainOut:
    claim = await service.claim_to_verify(session, principal, server_id, domain)
    if isinstance(claim, service.Claim):
        await session.commit()  # nothing written: end the transaction before waiting on DNS and HTTP
        method = await service.prove(platform, claim)
        claim = await service.mark_verified(session, principal, claim, method)
    return domain_out(platform.settings, claim)


@router.delete(
    "/{server_id}/domains/{domain}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a custom domain (owners): the proxy stops serving it",
)
async def remove_domain(
    server_id: uuid.UUID, domain: DomainPath, principal: WritePrincipal, session: SessionDep
) -> Response:
    await service.remove(session, principal, server_id, domain)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- what the proxy forwards ----------------------------------------------------------------------------------------


def _requested_host(request: Request) -> str:
    """The name the client asked for: the proxy passes it in X-Forwarded-Host (it sets Host to the platform's)."""
    return request.headers.get("x-forwarded-host") or request.headers.get("host") or ""


@well_known_router.get(
    HTTP_PATH + "{token}",
    response_class=PlainTextResponse,
    include_in_schema=False,
)
async def verification_file(token: Annotated[str, Path(max_length=100)], request: Request, session: SessionDep) -> Any:
    """The token of a pending domain named by the request's host: what the HTTP check fetches through the domain."""
    answer = await service.challenge_answer(session, _requested_host(request), token)
    if answer is None:
        return PlainTextResponse("No pending domain of this name has this token.\n", status_code=404)
    return PlainTextResponse(answer + "\n")


@well_known_router.get(RESOURCE_METADATA, include_in_schema=False)
@well_known_router.get(RESOURCE_METADATA + "/mcp", include_in_schema=False)
async def domain_resource_metadata(request: Request, session: SessionDep, platform: PlatformDep) -> Any:
    """RFC 9728 metadata of ``https://{domain}/mcp``: the server's own, with the domain's endpoint as resource."""
    found = await service.verified_slug(session, _requested_host(request))
    if found is None:
        raise NotFound("No MCP server is served at this host.")
    name, slug = found
    document = dict(await protected_resource_metadata(slug, platform))
    document["resource"] = f"{https_base(platform.settings, name)}/mcp"
    return document
