"""What the API shows of attached services: which, what was made, the names of the variables, never their values."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ServiceKind = Literal["postgres", "redis", "s3"]


class ServiceAttach(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ServiceKind = Field(description="postgres (a database and role), redis (an ACL user on a key prefix) or s3.")


class ServiceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rotate_credentials: bool = Field(
        description="Give the server new credentials (the old ones stop working) and restart it with them."
    )


class ServiceOut(BaseModel):
    kind: ServiceKind
    resource: str = Field(description="The database, key prefix or bucket made for the server.")
    username: str = Field(description="The role, ACL user or access key id it uses.")
    env: list[str] = Field(description="The variables the server gets (values are never returned).")
    created_at: datetime
    updated_at: datetime


class ServiceDetached(BaseModel):
    kind: ServiceKind
    resource: str = Field(description="What was dropped, with its data.")
