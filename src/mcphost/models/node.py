"""Nodes (the processes that host servers) and where a node serves a server over HTTP (ADR 0015).

A node's row is written by the node itself: registered at start with its internal address, its heartbeat renewed
every few seconds, ``stopped_at`` set when it stops cleanly. A server's endpoint is recorded by the node hosting it
while an instance of it answers over HTTP, so that other replicas can relay to the same upstream session."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mcphost.db.base import Base, utcnow


class Node(Base):
    __tablename__ = "nodes"

    name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    #: Where other replicas reach this node's gateway (``nodes.internal_url``).
    internal_url: Mapped[str] = mapped_column(sa.String(2000))
    #: Which machine it runs on: replicas on the same machine may reach its loopback endpoints directly.
    machine: Mapped[str] = mapped_column(sa.String(200))
    version: Mapped[str] = mapped_column(sa.String(50))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)


class ServerEndpoint(Base):
    """The HTTP upstream of a server's main instance, as the hosting node opened it."""

    __tablename__ = "server_endpoints"

    server_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True)
    node: Mapped[str] = mapped_column(sa.String(200))
    generation: Mapped[int] = mapped_column()
    url: Mapped[str] = mapped_column(sa.String(2000))
    #: Sealed JSON (``server-endpoint:{id}`` context): the request headers and the upstream's session id.
    sealed: Mapped[str] = mapped_column(sa.Text)
    protocol_version: Mapped[str | None] = mapped_column(sa.String(32), default=None)
    #: The server's initialize result (serverInfo, capabilities, instructions), for answering clients' initialize.
    manifest: Mapped[dict[str, Any]] = mapped_column(default=dict)
    machine: Mapped[str] = mapped_column(sa.String(200))
    #: ``host``: reachable from the hosting machine only; ``cluster``: from every replica.
    reach: Mapped[str] = mapped_column(sa.String(16))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
