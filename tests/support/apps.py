"""Apps built from adjusted settings, for tests that need a configuration other than the default fixture's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.api import create_app
from mcphost.settings import Settings


def adjusted(settings: Settings, **changes: Any) -> Settings:
    """A copy of the settings with nested groups merged: ``adjusted(s, auth={"allow_signup": False})``."""
    values = settings.model_dump()
    for key, value in changes.items():
        values[key] = (
            {**values[key], **value} if isinstance(value, dict) and isinstance(values.get(key), dict) else value
        )
    return Settings(**values)


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A started app built from these settings and a client talking to it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@asynccontextmanager
async def platform_session(client: httpx.AsyncClient) -> AsyncIterator[AsyncSession]:
    """A unit of work on the database of the app behind a client made by ``app_client``."""
    async with client.app.state.platform.db.session_scope() as session:  # type: ignore[attr-defined]
        yield session
