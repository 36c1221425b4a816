"""Endpoints of one's own credentials for a server: which variables it takes per user and which are set (never a
value), and setting them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from mcphost.api.deps import PlatformDep, ReadPrincipal, SessionDep, WritePrincipal
from mcphost.api.schemas import AUTHENTICATED_ERRORS
from mcphost.credentials import service
from mcphost.credentials.service import CredentialStatus

router = APIRouter(prefix="/api/servers", tags=["credentials"], responses=AUTHENTICATED_ERRORS)
Value = Annotated[str, StringConstraints(min_length=1, max_length=16_384, pattern=r"^[^\x00]*$")]


class CredentialsOut(BaseModel):
    required: list[str] = Field(description="The variables the server takes from each user.")
    set: list[str] = Field(description="Those you have set (values are never returned).")
    missing: list[str] = Field(description="Those you still have to set before the server starts for you.")


class CredentialsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    values: dict[str, Value | None] = Field(
        max_length=50, description="Your own values by name; null removes one. Encrypted at rest, never returned."
    )


def credentials_out(found: CredentialStatus) -> CredentialsOut:
    return CredentialsOut(required=found.required, set=found.set, missing=found.missing)


@router.get("/{server_id}/credentials", summary="The variables the server takes from each user, and which you set")
async def get_credentials(server_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> CredentialsOut:
    return credentials_out(await service.status(session, principal, server_id))


@router.put("/{server_id}/credentials", summary="Set (or remove) your own values of the server's per-user variables")
async def put_credentials(
    server_id: uuid.UUID, body: CredentialsIn, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> CredentialsOut:
    return credentials_out(await service.set_values(session, platform, principal, server_id, body.values))
