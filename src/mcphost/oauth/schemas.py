"""What the authorised-apps API answers: the apps (OAuth clients) a user let call a server for them."""

from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from mcphost.oauth.service import AuthorisedApp


class AuthorisedAppOut(BaseModel):
    id: uuid.UUID = Field(description="The authorisation's id (revoke it with DELETE /api/me/oauth/apps/{id}).")
    client_id: str = Field(description="The client's id: made up at registration, or the URL of its metadata document.")
    client_name: str = Field(description="The name the client gave itself (its client_id when it gave none).")
    client_host: str | None = Field(description="The host of the client's metadata document or home page, if any.")
    registration: str = Field(description="'registered' (Dynamic Client Registration) or 'metadata_document'.")
    server_id: uuid.UUID
    server_slug: str
    server_name: str
    scopes: list[str]
    authorised_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, app: AuthorisedApp) -> AuthorisedAppOut:
        client = app.client
        return cls(
            id=app.grant.id,
            client_id=client.client_id,
            client_name=app.name,
            client_host=client_host(client.client_id, client.client_uri),
            registration=client.kind.value,
            server_id=app.server.id,
            server_slug=app.server.slug,
            server_name=app.server.name,
            scopes=list(app.grant.scopes),
            authorised_at=app.grant.created_at,
            last_used_at=app.grant.last_used_at,
        )


def client_host(client_id: str, client_uri: str | None) -> str | None:
    """Where a client says it comes from: its metadata document's host, else its home page's."""
    for candidate in (client_id, client_uri):
        if candidate and candidate.startswith(("https://", "http://")):
            return urlsplit(candidate).hostname
    return None
