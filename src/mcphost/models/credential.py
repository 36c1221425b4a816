"""A user's own value of a server's per-user input (``Server.per_user_env``), sealed with the instance key and
bound to the user, the server and the name."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mcphost.db.base import Base, utcnow
from mcphost.models.server_activity import BigId


class UserCredential(Base):
    __tablename__ = "user_credentials"
    __table_args__ = (sa.UniqueConstraint("server_id", "user_id", "name", name="uq_user_credentials_value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    server_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: Sealed (``security.secretbox``), never returned.
    value: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
