"""The OAuth authorization server's records: clients (registered, or known by their metadata document), the grants
users consent to (one client, one server, some scopes), single-use authorization codes, and access and refresh
tokens. Codes, tokens and client secrets are stored only as keyed hashes."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mcphost.db.base import Base, IdMixin, utcnow
from mcphost.models._types import enum_column


class OAuthClientKind(enum.StrEnum):
    #: Registered through Dynamic Client Registration (RFC 7591); MCP Host made up its client_id.
    REGISTERED = "registered"
    #: Its client_id is the https URL of its metadata document, which MCP Host fetches (and caches here).
    METADATA_DOCUMENT = "metadata_document"


class OAuthTokenKind(enum.StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


class OAuthClient(IdMixin, Base):
    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(sa.String(2048), unique=True)
    kind: Mapped[OAuthClientKind] = mapped_column(enum_column(OAuthClientKind))
    client_name: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    client_uri: Mapped[str | None] = mapped_column(sa.String(2048), default=None)
    logo_uri: Mapped[str | None] = mapped_column(sa.String(2048), default=None)
    redirect_uris: Mapped[list[str]] = mapped_column(default=list)
    grant_types: Mapped[list[str]] = mapped_column(default=list)
    #: ``none`` (a public client), ``client_secret_post`` or ``client_secret_basic``.
    token_endpoint_auth_method: Mapped[str] = mapped_column(sa.String(40))
    secret_hash: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    software_id: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    software_version: Mapped[str | None] = mapped_column(sa.String(100), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When the metadata document was last fetched (``metadata_document`` clients).
    fetched_at: Mapped[datetime | None] = mapped_column(default=None)


class OAuthGrant(IdMixin, Base):
    """A user's consent: this client may call this server's endpoint for them with these scopes, until revoked."""

    __tablename__ = "oauth_grants"
    __table_args__ = (sa.UniqueConstraint("user_id", "client_pk", "server_id", name="uq_oauth_grants_consent"),)

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_pk: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True)
    server_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    scopes: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class OAuthCode(IdMixin, Base):
    """An authorization code: single use, short-lived, bound to its redirect URI, PKCE challenge and resource."""

    __tablename__ = "oauth_codes"

    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    grant_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(sa.String(2048))
    code_challenge: Mapped[str] = mapped_column(sa.String(128))
    scopes: Mapped[list[str]] = mapped_column(default=list)
    resource: Mapped[str] = mapped_column(sa.String(2048))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class OAuthToken(IdMixin, Base):
    """An access or refresh token. ``family_id`` is the authorization code it descends from: every token of one
    sign-in, across refreshes, so that replaying a code or a rotated refresh token can revoke them all."""

    __tablename__ = "oauth_tokens"

    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[OAuthTokenKind] = mapped_column(enum_column(OAuthTokenKind))
    grant_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    prefix: Mapped[str] = mapped_column(sa.String(32))
    scopes: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    #: A refresh token is used once: exchanging it sets this and gives a new one.
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
