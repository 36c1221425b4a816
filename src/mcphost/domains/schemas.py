"""Request and response models of custom domains."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from mcphost.models import CertificateStatus, DomainStatus, VerificationMethod


class DomainCreate(BaseModel):
    domain: str = Field(
        min_length=1,
        max_length=300,
        description="The name to serve the server at, e.g. mcp.example.com (internationalised names are accepted).",
    )


class DnsInstructions(BaseModel):
    type: str = Field("TXT", description="The record type.")
    name: str = Field(description="The record's name, e.g. _mcphost-challenge.mcp.example.com.")
    value: str = Field(description="The record's value: the verification token.")


class HttpInstructions(BaseModel):
    url: str = Field(description="Where the token must be served over plain HTTP on the domain.")
    body: str = Field(description="What that URL answers (the token; surrounding whitespace is ignored).")
    note: str = Field(
        description="Who serves it: this platform does, once the domain points at its proxy; else the domain's "
        "current web server must."
    )


class Verification(BaseModel):
    token: str
    dns: DnsInstructions
    http: HttpInstructions
    point_to: str | None = Field(
        description="Where the domain's DNS (A/AAAA or CNAME) must point for https://DOMAIN/mcp to reach the server: "
        "the platform's public host."
    )


class CertificateOut(BaseModel):
    status: CertificateStatus | None = Field(
        description="pending, issued or failed; null until the domain is verified."
    )
    detail: str | None = Field(description="What is known: the issuer and expiry, or why there is none yet.")
    expires_at: datetime | None
    checked_at: datetime | None


class DomainOut(BaseModel):
    domain: str = Field(description="The name in ASCII (IDNA) form.")
    display_name: str = Field(description="The name as people read it (Unicode).")
    server_id: uuid.UUID
    status: DomainStatus
    endpoint_url: str = Field(description="The server's MCP endpoint at this domain (once verified and certified).")
    verification: Verification
    verified_at: datetime | None
    verified_with: VerificationMethod | None
    certificate: CertificateOut
    created_at: datetime


class VerificationFailure(BaseModel):
    """Why each way of proving control did not work (the details of a ``verification_failed`` error)."""

    dns: str
    http: str
