"""The OAuth 2.1 authorization server in front of the gateway: clients that cannot paste a key (Claude, Cursor, VS
Code…) sign a user in through it and get a token bound to one server's endpoint."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OAuthSettings(BaseModel):
    """The authorization server (``/.well-known/oauth-authorization-server``, ``/oauth/...``)."""

    enabled: bool = Field(
        True,
        description="Offer OAuth sign-in to MCP clients. Off: the metadata names no authorization server, the OAuth "
        "endpoints answer 404 with a reason, and tokens already issued stop working (access keys and personal "
        "access tokens are unaffected).",
    )
    access_token_minutes: int = Field(
        60, ge=1, le=24 * 60, description="Lifetime of an access token; clients refresh it after that."
    )
    refresh_token_days: int = Field(
        30,
        ge=1,
        le=365,
        description="Lifetime of a refresh token. Each use gives a new one (rotation); using an old one again "
        "revokes every token of that sign-in.",
    )
    code_seconds: int = Field(
        120, ge=10, le=600, description="How long an authorization code may wait to be exchanged (used once)."
    )
    registration_enabled: bool = Field(
        True, description="Accept Dynamic Client Registration (RFC 7591) at /oauth/register."
    )
    registrations_per_hour: int = Field(
        30, ge=1, description="Client registrations one address may make per hour; more get 429."
    )
    registration_max_bytes: int = Field(
        16_384, ge=1024, description="Largest registration request accepted; larger ones get 413."
    )
    max_redirect_uris: int = Field(10, ge=1, le=100, description="Redirect URIs one client may register.")
    client_metadata_documents: bool = Field(
        True,
        description="Accept Client ID Metadata Documents: a client_id that is an https URL whose JSON document "
        "describes the client (fetched by MCP Host).",
    )
    metadata_max_bytes: int = Field(
        5120, ge=512, le=1_048_576, description="Largest client metadata document fetched; larger ones are refused."
    )
    metadata_timeout_seconds: float = Field(
        5.0, gt=0, le=60, description="Longest wait for a client metadata document (connect and read)."
    )
    metadata_cache_seconds: int = Field(
        3600, ge=0, description="How long a fetched client metadata document is used before it is fetched again."
    )
    allow_private_metadata_hosts: bool = Field(
        False,
        description="Fetch client metadata documents from hosts that resolve to loopback, private or link-local "
        "addresses (off: refused, so a client_id cannot make MCP Host probe its own network). For tests and "
        "private networks only.",
    )
    allow_http_metadata: bool = Field(
        False, description="Accept http:// client_id URLs (tests only; the specification requires https)."
    )
