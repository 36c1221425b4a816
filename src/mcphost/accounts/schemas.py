"""Request and response models of the accounts endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from mcphost.api.schemas import DisplayName
from mcphost.models import OrgRole, TokenScope, UserRole

MAX_PASSWORD_LENGTH = 256

Email = Annotated[EmailStr, Field(max_length=320), AfterValidator(lambda value: value.lower())]
Password = Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    password: Password


class Registered(BaseModel):
    """The answer to a registration: the same whether the email was free (the account exists now) or already had
    an account (nothing changed), so registering does not reveal who has an account."""

    email: str
    message: str = Field(
        "Registered: sign in with this email and the password you chose. If the email already had an account, "
        "nothing changed; sign in with that account's password.",
    )


class LoginResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_at: datetime


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    role: UserRole
    server_quota: int
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class OrgSummary(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    role: OrgRole


class MeOut(UserOut):
    orgs: list[OrgSummary]


class UserUpdate(BaseModel):
    """Admin changes to a user; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    role: UserRole | None = None
    server_quota: int | None = Field(None, ge=0, le=100_000, strict=True)
    is_active: bool | None = Field(
        None, strict=True, description="false disables the account: its tokens stop working."
    )


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: DisplayName
    scopes: list[TokenScope] = Field(min_length=1, description="read, write, invoke and/or admin.")
    expires_in_days: int | None = Field(
        None,
        ge=1,
        le=3650,
        strict=True,
        description="Days until the token expires. Omit it for the instance's default (auth.default_token_days, 90 "
        "by default); null for a token that never expires, where the instance allows it "
        "(auth.allow_non_expiring_tokens). The instance caps it (auth.max_token_days, 365 by default).",
    )


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str = Field(description="The token's first characters, to recognise it.")
    scopes: list[TokenScope]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret token. It is shown only in this response.")
