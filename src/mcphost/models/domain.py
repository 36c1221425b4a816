"""Custom domains of servers: a name an owner claims for a server, the token that proves they control it, and once
proved, the state of the TLS certificate Caddy serves it with.

Several servers may claim one name while none has proved it (so nobody can squat a name by claiming it first); once
one server has verified it, the name is that server's alone (a partial unique index) until it is removed."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mcphost.db.base import Base, IdMixin, utcnow
from mcphost.models._types import enum_column


class DomainStatus(enum.StrEnum):
    #: Claimed: the owner publishes the token (DNS TXT record or HTTP file), then asks for verification.
    PENDING_VERIFICATION = "pending_verification"
    #: Proved: routed to the server, and Caddy obtains (and renews) its certificate.
    VERIFIED = "verified"


class VerificationMethod(enum.StrEnum):
    DNS = "dns"
    HTTP = "http"


class CertificateStatus(enum.StrEnum):
    #: Caddy is obtaining it (or has not been reached yet); the detail says what is known.
    PENDING = "pending"
    #: Caddy serves a valid certificate for the name.
    ISSUED = "issued"
    #: The CA refused or the challenge failed; the detail has the reason (Caddy keeps retrying).
    FAILED = "failed"


class CustomDomain(IdMixin, Base):
    __tablename__ = "custom_domains"
    __table_args__ = (
        sa.UniqueConstraint("server_id", "name", name="uq_custom_domains_server_id_name"),
        sa.Index(
            "uq_custom_domains_verified_name",
            "name",
            unique=True,
            sqlite_where=sa.text("status = 'verified'"),
            postgresql_where=sa.text("status = 'verified'"),
        ),
    )

    server_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    #: The name in ASCII (IDNA A-labels), lower case, without a trailing dot.
    name: Mapped[str] = mapped_column(sa.String(253), index=True)
    #: What the owner publishes to prove control (not a secret: it is published).
    token: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[DomainStatus] = mapped_column(enum_column(DomainStatus), default=DomainStatus.PENDING_VERIFICATION)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), default=None)
    verified_at: Mapped[datetime | None] = mapped_column(default=None)
    verified_with: Mapped[VerificationMethod | None] = mapped_column(enum_column(VerificationMethod), default=None)
    #: None until verified.
    certificate: Mapped[CertificateStatus | None] = mapped_column(enum_column(CertificateStatus), default=None)
    certificate_detail: Mapped[str | None] = mapped_column(sa.Text, default=None)
    certificate_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    certificate_checked_at: Mapped[datetime | None] = mapped_column(default=None)
