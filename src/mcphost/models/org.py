"""Organisations, their members and pending invitations."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mcphost.db.base import Base, IdMixin, TimestampMixin, utcnow
from mcphost.models._types import enum_column


class OrgRole(enum.StrEnum):
    """Roles in rank order: each role can do what the roles below it can."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return {"viewer": 0, "member": 1, "admin": 2, "owner": 3}[self.value]

    def at_least(self, other: OrgRole) -> bool:
        return self.rank >= other.rank


class Organization(IdMixin, TimestampMixin, Base):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(sa.String(100))
    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    server_quota: Mapped[int] = mapped_column(default=20)
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), default=None)


class Membership(Base):
    __tablename__ = "org_memberships"

    org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[OrgRole] = mapped_column(enum_column(OrgRole))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invitation(IdMixin, Base):
    """An invitation for an email without an account; it becomes a membership when that email registers."""

    __tablename__ = "org_invitations"
    __table_args__ = (sa.UniqueConstraint("org_id", "email"),)

    org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(sa.String(320), index=True)
    role: Mapped[OrgRole] = mapped_column(enum_column(OrgRole))
    invited_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
