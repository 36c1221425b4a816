"""Request and response models of the organisation endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from mcphost.accounts.schemas import Email
from mcphost.api.schemas import DisplayName
from mcphost.models import OrgRole

OrgName = DisplayName


class OrgCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: OrgName


class OrgUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: OrgName | None = None
    server_quota: int | None = Field(
        None, ge=0, le=100_000, strict=True, description="Only administrators may change it."
    )


class OrgOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    slug: str
    server_quota: int
    created_at: datetime
    role: OrgRole | None = Field(None, description="The caller's role; null for an administrator who is not a member.")


class MemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    role: OrgRole = OrgRole.MEMBER


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: OrgRole


class MemberOut(BaseModel):
    user_id: uuid.UUID
    email: str
    role: OrgRole
    joined_at: datetime


class InvitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    role: OrgRole
    created_at: datetime
    expires_at: datetime


class MembersOut(BaseModel):
    members: list[MemberOut]
    invitations: list[InvitationOut]


class MemberAddResult(BaseModel):
    """Either the new member (the email has an account) or the invitation waiting for the email to sign up."""

    status: str = Field(description="'added' or 'invited'.")
    member: MemberOut | None = None
    invitation: InvitationOut | None = None
