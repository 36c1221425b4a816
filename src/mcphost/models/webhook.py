"""Webhooks of a server: its secret (encrypted at rest: verifying GitHub's HMAC signature needs the plaintext) and
the deliveries it received, whatever became of them."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mcphost.db.base import Base, utcnow
from mcphost.models._types import enum_column
from mcphost.models.server_activity import BigId


class ServerWebhook(Base):
    """The webhook secret of one server (servers created before webhooks get one on their first rotation)."""

    __tablename__ = "server_webhooks"

    server_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True)
    #: Sealed with the instance key (``security.secretbox``), bound to this server.
    secret: Mapped[str] = mapped_column(sa.Text)
    rotated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryOutcome(enum.StrEnum):
    REDEPLOYED = "redeployed"
    IGNORED = "ignored"
    REJECTED = "rejected"


class WebhookDelivery(Base):
    """One call of a server's webhook or GitHub endpoint; a server keeps its newest ones."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (sa.Index("ix_webhook_deliveries_server_id_id", "server_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    server_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("servers.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: webhook (the generic endpoint) or github.
    endpoint: Mapped[str] = mapped_column(sa.String(16))
    #: The GitHub event (push, ping...) or "webhook".
    event: Mapped[str] = mapped_column(sa.String(100))
    #: GitHub's X-GitHub-Delivery id, when there is one.
    delivery_id: Mapped[str | None] = mapped_column(sa.String(100), default=None)
    outcome: Mapped[DeliveryOutcome] = mapped_column(enum_column(DeliveryOutcome))
    detail: Mapped[str] = mapped_column(sa.Text)
    #: The revision it deployed (redeployed deliveries).
    revision: Mapped[int | None] = mapped_column(default=None)
